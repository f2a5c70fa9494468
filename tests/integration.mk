# Black-box and Apache integration tests (Python 3, standard library only).
