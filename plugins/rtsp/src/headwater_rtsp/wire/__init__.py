"""The RTSP wire layer (RFC 2326): messages, headers and authentication, sans-I/O."""
