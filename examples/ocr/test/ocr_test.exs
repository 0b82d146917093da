defmodule OcrTest do
  use ExUnit.Case, async: true

  @moduletag timeout: 600_000

  setup_all do
    :ok = Ocr.init()
  end

  test "reads back the text drawn on an image" do
    text = "The Journey\nof a thousand\nmiles begins"
    image = Ocr.draw(text)
    assert <<137, "PNG", _::binary>> = image
    assert Ocr.read(image) |> String.split("\n", trim: true) == String.split(text, "\n")
  end
end
