from mockserver.cli import run

run()
