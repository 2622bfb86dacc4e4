"""Alerts (issue 12): rules and the evaluator (alerts branch), and their delivery by e-mail and webhook.

Delivery follows the `alert_changes` table: docs/alerts-delivery.md.
"""
