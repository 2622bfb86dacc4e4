"""Alerts (issue 12): rules, the evaluator that opens and resolves alerts, and their tables.

Delivery (e-mail, webhooks) follows the `alert_changes` table: docs/alerts.md.
"""
