defmodule Ocr.MixProject do
  use Mix.Project

  def project do
    [
      app: :ocr,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:oxbeam, path: "../../elixir"}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
