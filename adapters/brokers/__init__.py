"""Broker adapters: implementations of the ``Execution`` and ``MarketData`` ports.

Every adapter has the same file set (``config.py``, ``execution.py``, ``data.py``,
``capabilities.py`` ...); ``sim`` is the built-in simulated exchange, one more adapter.
"""
