"""The broadcast itself (issue 16): the studio's RTMP (or SRT) ingest, our own HLS, restream to
the official accounts, and the recording at the source. `flv` is the one shape media moves in
between the parts: the ingest turns what the studio sends into FLV tags, and every ffmpeg we
run (HLS and recording, one per destination) reads FLV on its standard input."""
