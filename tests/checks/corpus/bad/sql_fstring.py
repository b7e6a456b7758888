# expect: SEC014
import sqlite3


def sales_for(conn: sqlite3.Connection, region: str) -> list:
    return conn.execute(f"SELECT * FROM sales WHERE region = '{region}'").fetchall()
