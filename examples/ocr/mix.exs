defmodule Ocr.MixProject do
  use Mix.Project

  def project do
    [
      app: :ocr,
      version: "0.1.0",
      elixir: "~> 1.14",
      # The Python bridge is a package of its own (it brings :oxbeam with it). In your
      # own project: {:oxbeam_python, path: "path/to/oxbeam/elixir/oxbeam_python"}.
      deps: [{:oxbeam_python, path: "../../elixir/oxbeam_python"}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
