"""The device agent: tail this machine's transcripts and push new usage to a ccsync server.

It imports the usage engine and the wire format, never server code (tests check this),
so a device needs nothing of the server to run it.
"""
