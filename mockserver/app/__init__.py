"""The HTTP face: create_app, typed app state, routes, CORS, tracing, and serving on a socket."""
