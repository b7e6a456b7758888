# expect: SEC009
import os

from flask import Flask

app = Flask(__name__)

if __name__ == "__main__":
    app.run(host=os.getenv("HOST", "127.0.0.1"), port=int(os.getenv("PORT", "8080")), debug=True)
