# expect: CFG001
import os

import psycopg2


def connect():
    return psycopg2.connect(host="db.internal", dbname="sales", password=os.environ["PGPASSWORD"])
