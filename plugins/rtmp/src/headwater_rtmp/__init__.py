"""headwater-rtmp: RTMP/RTMPS publish, play and push for headwater."""
