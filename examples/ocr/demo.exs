# Run with: mix run demo.exs
:ok = Ocr.init()
text = "The Journey\nof a thousand\nmiles begins"
image = Ocr.draw(text)
IO.puts("Drew #{byte_size(image)} bytes of PNG showing:\n#{text}\n")
IO.puts("Tesseract read back:\n#{String.trim(Ocr.read(image))}")
