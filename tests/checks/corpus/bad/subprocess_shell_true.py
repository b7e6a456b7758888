# expect: SEC006
import subprocess


def convert(source: str, target: str) -> None:
    subprocess.run(f"libreoffice --convert-to pdf {source} --outdir {target}", shell=True, check=True)
