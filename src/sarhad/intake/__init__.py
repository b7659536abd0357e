"""News intake: articles → candidate incidents and crossing events, reviewed by an analyst."""
