"""The wire: chunks, SSE framing, delivery (the only stage that writes bytes), the fault plan, rate
limits.
"""
