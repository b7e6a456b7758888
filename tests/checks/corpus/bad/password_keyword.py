# expect: SEC104
import os

import psycopg2


def connect():
    return psycopg2.connect(
        host=os.environ["DB_HOST"], user="etl", password="pg-admin-77", dbname="sales"
    )
