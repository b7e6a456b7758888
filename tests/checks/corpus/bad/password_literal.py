# expect: SEC104
import os

DB_USER = os.getenv("DB_USER", "reporting")
DB_PASSWORD = "Summer2024!"
