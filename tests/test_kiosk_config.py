"""The kiosk config file: every bad file gets a message naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from ressenti.errors import BadConfig

GOOD = '''kiosk = "mairie-accueil-1"
site = "mairie"
data_dir = "{data}"
[broker]
url = "mqtt://localhost:1883"
'''


def write(tmp_path, text: str):
    path = tmp_path / "kiosk.toml"
    path.write_text(text.replace("{data}", str(tmp_path / "data")).replace("{tmp}", str(tmp_path)))
    return path


def test_good_file_and_the_shipped_example_load(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert (config.kiosk, config.site, config.broker.port, config.heartbeat_s) == (
        "mairie-accueil-1", "mairie", 1883, 60.0)
    example = load_config("deploy/examples/kiosk.toml")
    assert example.kiosk == "mairie-accueil-1"


def test_touch_table(tmp_path):
    default = load_config(write(tmp_path, GOOD)).touch
    assert (default.pin_file, default.sound, default.fullscreen, default.idle_after_s,
            default.thanks_s) == (Path("/etc/ressenti/touch-pin"), False, "auto", 60.0, 3.0)
    touch = load_config(write(tmp_path, GOOD + '[touch]\npin_file = "/srv/pin"\nsound = true\n'
                              "fullscreen = false\nidle_after_s = 90\nthanks_s = 2.5\n")).touch
    assert (touch.pin_file, touch.sound, touch.fullscreen_flag, touch.idle_after_s,
            touch.thanks_s) == (Path("/srv/pin"), True, False, 90.0, 2.5)
    assert touch.tech_pin is None, "the PIN itself is read when the touch screen starts"
    assert load_config(write(tmp_path, GOOD + "[touch]\nfullscreen = true\n")).touch.fullscreen_flag


def test_tls_and_password_files(tmp_path):
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "pw").write_text("s3cret\n")
    config = load_config(write(tmp_path, GOOD.replace(
        'url = "mqtt://localhost:1883"',
        'url = "mqtts://broker.example:8883"\nusername = "mairie-accueil-1"\n'
        'password_file = "{tmp}/pw"\nca_file = "{tmp}/ca.crt"')))
    assert config.broker.tls and config.broker.password == "s3cret"
    assert config.broker.ca_file == str(tmp_path / "ca.crt")


BAD = [
    # (what to change, text expected in the message)
    (lambda t: t.replace('kiosk = "mairie-accueil-1"\n', ""),
     "missing key 'kiosk'; add e.g. kiosk = \"mairie-accueil-1\""),
    (lambda t: t.replace('"mairie-accueil-1"', '"Mairie Accueil"'),
     "kiosk = 'Mairie Accueil' must be lower-case letters, digits and '-' (e.g. kiosk = \"mairie-accueil-1\")"),
    (lambda t: t.replace('site = "mairie"', "site = 12"),
     "site = 12 must be a string in quotes (e.g. site = \"mairie\")"),
    (lambda t: t.replace("[broker]", "hearbeat_s = 30\n[broker]"),
     "unknown key 'hearbeat_s' (did you mean 'heartbeat_s'?)"),
    (lambda t: t.replace("[broker]", 'heartbeat_s = "60"\n[broker]'),
     "heartbeat_s = '60' must be a number (e.g. heartbeat_s = 60)"),
    (lambda t: t.replace("[broker]", "heartbeat_s = 0.5\n[broker]"),
     "heartbeat_s = 0.5 must be between 5 and 3600 (e.g. heartbeat_s = 60)"),
    (lambda t: t.replace("[broker]", "max_events = 1e6\n[broker]"),
     "max_events = 1000000.0 must be a whole number (e.g. max_events = 1000000)"),
    (lambda t: t.replace("[broker]", "buzzer = 1\n[broker]"),
     "buzzer = 1 must be true or false (e.g. buzzer = false)"),
    (lambda t: t.replace("[broker]", 'frontends = ["screen"]\n[broker]'),
     "frontends = ['screen'] must be a non-empty subset of ['buttons', 'touch']"),
    (lambda t: t.replace("[broker]", 'clock = "gps"\n[broker]'),
     "clock = 'gps' must be \"auto\""),
    (lambda t: t.replace('data_dir = "{data}"', 'data_dir = "var/lib/ressenti"'),
     "data_dir = 'var/lib/ressenti' must be an absolute path"),
    (lambda t: t.replace("mqtt://localhost:1883", "http://localhost"),
     "[broker]: url: broker url 'http://localhost' must look like mqtt://host:1883"),
    (lambda t: t + 'port = 1883\n',
     "[broker]: unknown key 'port' (known keys: url, username, password_file"),
    (lambda t: t + 'password_file = "{tmp}/missing"\nusername = "u"\n',
     "password_file = '{tmp}/missing': no such file; put the broker password (one line, mode 0600) there"),
    (lambda t: t + 'ca_file = "{tmp}/nope.crt"\n',
     "ca_file = '{tmp}/nope.crt': no such file; put the CA certificate"),
    (lambda t: t + 'ca_file = "{tmp}/kiosk.toml"\n',
     "ca_file set but url 'mqtt://localhost:1883' is not TLS; use mqtts://host:8883"),
    (lambda t: t + 'password_file = "{tmp}/kiosk.toml"\n',
     "password_file is set but username is not; add username = \"mairie-accueil-1\""),
    (lambda t: t + "[settings]\nscale = 7\n",
     "[settings]: config scale 7 must be 3, 4 or 5"),
    (lambda t: t + "[settings]\nscales = 4\n",
     "[settings]: unknown key 'scales' (did you mean 'scale'?)"),
    (lambda t: t + "[settings]\nresponse_interval_s = -1\n",
     "[settings]: config response_interval_s -1 must be 0..3600 seconds"),
    (lambda t: t + '[settings.followup]\nid = "why"\nwhen_rating_at_most = 2\ntimout_s = 10\n',
     "[settings]: config followup has unknown keys ['timout_s']"),
    (lambda t: t + "[touch]\nthanks = 3\n",
     "[touch]: unknown key 'thanks' (did you mean 'thanks_s'?)"),
    (lambda t: t + '[touch]\nfullscreen = "yes"\n',
     "[touch]: fullscreen = 'yes' must be \"auto\" (full screen on a console, a window under a "
     "desktop), true or false"),
    (lambda t: t + "[touch]\nthanks_s = 0\n",
     "[touch]: thanks_s = 0 must be between 1 and 30 seconds (e.g. thanks_s = 3)"),
    (lambda t: t + '[touch]\nidle_after_s = "60"\n',
     "[touch]: idle_after_s = '60' must be a number (e.g. idle_after_s = 60)"),
    (lambda t: t + "[touch]\nidle_after_s = 5\n",
     "[touch]: idle_after_s = 5 must be between 10 and 3600 seconds"),
    (lambda t: t + '[touch]\npin_file = "touch-pin"\n',
     "[touch]: pin_file = 'touch-pin' must be an absolute path (e.g. pin_file = \"/etc/ressenti/touch-pin\")"),
    (lambda t: t + "[touch]\nsound = 1\n",
     "[touch]: sound = 1 must be true or false (e.g. sound = false)"),
    (lambda t: t.replace("[broker]", "touch = true\n[broker]"),
     "touch = True must be a table"),
    (lambda t: t.replace("[broker]", "broker = 3\n[broker]"),
     "not valid TOML"),
    (lambda t: 'kiosk = "a"\nsite = "b"\nbroker = "mqtt://x"\n',
     "broker = 'mqtt://x' must be a table"),
]


@pytest.mark.parametrize("change, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_config_names_the_key_and_the_fix(tmp_path, change, message):
    path = write(tmp_path, change(GOOD))
    with pytest.raises(BadConfig) as caught:
        load_config(path)
    text = str(caught.value)
    assert text.startswith(str(path)), "the message names the file"
    assert message.replace("{tmp}", str(tmp_path)) in text


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(BadConfig, match="no such file; copy deploy/examples/kiosk.toml there"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(BadConfig, match="cannot read it"):
        load_config(tmp_path)  # a folder
