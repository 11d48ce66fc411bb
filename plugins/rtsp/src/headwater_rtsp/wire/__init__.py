"""The RTSP wire layer (RFC 2326), sans-I/O: messages, the Transport header, authentication,
stream names from URLs and the server session state machine."""
