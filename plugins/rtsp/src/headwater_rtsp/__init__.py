"""headwater-rtsp: RTSP 1.0 publish (ANNOUNCE/RECORD over UDP and TCP) and play."""
