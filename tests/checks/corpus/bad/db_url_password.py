# expect: SEC105
from sqlalchemy import create_engine

engine = create_engine("postgresql://report:Xk29mq7@db.prod.internal:5432/sales")
