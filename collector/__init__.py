"""Collector: ingests kiosk events, keeps them once, aggregates and serves them."""
