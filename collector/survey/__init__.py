"""The citizens' web survey (issue 14): short links, the public survey page's submissions, comments.

`links` is the data model other features build on (QR cards, the sources' admin page):
a link is a public, unguessable slug for one site (and optionally one reception desk) and
one channel (web, or phone for links sent after a call). Each link is a producer of the
registry, so its ratings take the same store path as a kiosk's (collector/store.py).
"""
