"""Touchscreen front-end (Kivy) on the shared kiosk core; see docs/touch.md.

Only `run.py`, `shoot.py` and the tests import Kivy, and they call
`kiosk.touch.env.prepare()` first: Kivy reads its environment once, at import.
`followup`, `options`, `texts`, `theme` and `presser` are plain Python and import no Kivy.
"""
