# Black-box and Apache integration tests (Python 3, standard library only).

# Webhook delivery end to end: receiver, flusher, prompt delivery through Apache (issue 3)
TESTS += tests/webhook_integration.py
EXTRA_DIST += tests/webhook_integration.py
TESTS += tests/check_command.py
EXTRA_DIST += tests/check_command.py
