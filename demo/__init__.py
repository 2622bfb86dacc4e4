"""`ressenti demo`: a whole product on one machine (collector, simulated kiosks, visitors, mail).

It sits above kiosk/ and collector/ and imports both; nothing below imports it.
`run.Demo` starts it; `world` describes the simulated town, `history` seeds its past,
`visitors` presses the buttons, `mail` delivers its alerts to a local mailbox.
"""
