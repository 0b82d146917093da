defmodule Ocr do
  @moduledoc """
  Optical character recognition with Python's pytesseract, from Elixir: the example of
  "Embedding Python in Elixir, it's fine", made real. The image is drawn locally with
  Pillow (no download), then read back by Tesseract (the `tesseract` program comes
  from Debian's `tesseract-ocr`, installed by `scripts/setup`).
  """

  alias Oxbeam.Python

  @pyproject """
  [project]
  name = "project"
  version = "0.0.0"
  requires-python = ">=3.10"
  dependencies = [
    "pytesseract==0.3.13",
    "pillow==11.1.0"
  ]
  """

  @doc "Sets up the Python environment (cached after the first time) and the interpreter."
  def init, do: Python.uv_init(@pyproject)

  @doc "A PNG image (as a binary) showing `text` in black on white."
  def draw(text) do
    {result, _globals} =
      Python.eval(
        """
        import io
        from PIL import Image, ImageDraw, ImageFont

        font = ImageFont.load_default(size=48)
        lines = text.decode("utf-8").split("\\n")
        image = Image.new("RGB", (1000, 90 * len(lines) + 60), "white")
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((40, 30 + 90 * i), line, fill="black", font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.getvalue()
        """,
        %{"text" => text}
      )

    Python.decode(result)
  end

  @doc "The text Tesseract reads in a PNG/JPEG image given as a binary."
  def read(image) do
    {result, _globals} =
      Python.eval(
        """
        import io
        import PIL.Image
        import pytesseract

        image = PIL.Image.open(io.BytesIO(binary))
        pytesseract.image_to_string(image)
        """,
        %{"binary" => image}
      )

    Python.decode(result)
  end
end
