# expect: CFG005
import redis

REDIS_HOST = "cache.internal"
client = redis.Redis(host=REDIS_HOST)
