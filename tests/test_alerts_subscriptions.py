"""Issue 12: the alert kinds a user subscribes to are the evaluator's kinds."""
def test_every_alert_kind_has_a_name_on_the_settings_page():
    from collector.alerts.rules import Kind
    from collector.alerts.subscriptions import KINDS

    assert set(KINDS) == set(Kind)
