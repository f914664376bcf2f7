"""The real gateway: the pooled client, the pass-through proxy, recording exchanges as fixtures,
and verifying fixtures against the gateway.
"""
