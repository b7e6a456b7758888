# expect: SEC011
import os
import socket


def listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("", int(os.environ["PORT"])))
    sock.listen()
    return sock
