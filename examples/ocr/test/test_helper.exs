# uv, pytesseract and Pillow come from PyPI on a fresh machine: set up before the tests.
:ok = Ocr.init()
ExUnit.start()
