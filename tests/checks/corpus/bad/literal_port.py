# expect: CFG002
import os

from waitress import serve

from app import app

serve(app, host=os.getenv("HOST", "127.0.0.1"), port=8080)
