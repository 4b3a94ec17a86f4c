"""YouTube's live chat read from yt-dlp's file into the queue (issue 11): the reader, which
hands each line's events to the YouTube use case and keeps its place durably, and the follower,
which runs yt-dlp as a supervised child process, tails what it writes and reports the feed's
health for the console. `halyq youtube` and the console's button both run them."""
