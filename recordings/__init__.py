"""Archives, transcripts and exports of meetings (filled by later issues)."""
