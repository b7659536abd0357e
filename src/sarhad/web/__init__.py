"""The web console: sign-in, server-rendered pages in English, Urdu and Persian, static files.

It sits above every other room and calls their service functions; it holds no business rules.
"""
