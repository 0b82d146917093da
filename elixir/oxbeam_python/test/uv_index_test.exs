defmodule Oxbeam.Python.UvIndexTest do
  # uv_init's environments honour [[tool.uv.index]]: a package only available from a
  # local flat index (a wheel made here) is installed from it.
  use ExUnit.Case, async: true

  @moduletag :tmp_dir
  @moduletag timeout: 300_000

  test "a dependency from a [[tool.uv.index]] index is installed", %{tmp_dir: tmp_dir} do
    index = Path.join(tmp_dir, "index")
    File.mkdir_p!(index)
    write_wheel!(Path.join(index, "oxbeam_index_probe-0.1.0-py3-none-any.whl"))

    pyproject = """
    [project]
    name = "index-test"
    version = "0.0.0"
    requires-python = ">=3.10"
    dependencies = ["oxbeam-index-probe==0.1.0"]

    [[tool.uv.index]]
    name = "local"
    url = "#{index}"
    format = "flat"
    explicit = true

    [tool.uv.sources]
    oxbeam-index-probe = { index = "local" }
    """

    python = Oxbeam.Python.Uv.sync!(pyproject, force: true)

    assert {"from the local index\n", 0} =
             System.cmd(python, [
               "-c",
               "import oxbeam_index_probe; print(oxbeam_index_probe.WHERE)"
             ])
  end

  # A minimal wheel: the module, METADATA, WHEEL and RECORD.
  defp write_wheel!(path) do
    dist = "oxbeam_index_probe-0.1.0.dist-info"

    files = [
      {~c"oxbeam_index_probe/__init__.py", "WHERE = 'from the local index'\n"},
      {~c"#{dist}/METADATA", "Metadata-Version: 2.1\nName: oxbeam-index-probe\nVersion: 0.1.0\n"},
      {~c"#{dist}/WHEEL",
       "Wheel-Version: 1.0\nGenerator: oxbeam-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    ]

    record =
      Enum.map_join(files, "", fn {name, content} ->
        digest = :crypto.hash(:sha256, content) |> Base.url_encode64(padding: false)
        "#{name},sha256=#{digest},#{byte_size(content)}\n"
      end) <> "#{dist}/RECORD,,\n"

    {:ok, _} = :zip.create(String.to_charlist(path), files ++ [{~c"#{dist}/RECORD", record}])
  end
end
