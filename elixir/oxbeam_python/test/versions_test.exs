defmodule Oxbeam.Python.VersionsTest do
  # One build of the bridge (CPython's stable ABI, no libpython linked) runs on every
  # CPython 3.10-3.13 of this host: uv_init chooses it by requires-python (never
  # downloading one), and init loads its libpython. Each version in a VM of its own.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.HazardChild

  @moduletag timeout: 240_000

  for minor <- 10..13 do
    test "requires-python = \"==3.#{minor}.*\" runs on pyenv's CPython 3.#{minor}" do
      minor = unquote(minor)

      script = """
      {result, _} =
        Oxbeam.Python.eval(
          "import sys, decimal, ctypes, json\\n" <>
            "(tuple(sys.version_info[:2]), str(decimal.Decimal(1) / 7)[:5], json.dumps([1]), " <>
            "ctypes.sizeof(ctypes.c_int), sys.executable.endswith('/.venv/bin/python'))",
          %{}
        )

      IO.inspect(Oxbeam.Python.decode(result))
      """

      assert {output, 0} = HazardChild.run(script, python_minor: minor, timeout: 180)
      assert output =~ ~s|{{3, #{minor}}, "0.142", "[1]", 4, true}|
    end
  end

  test "the shipped NIF libraries have no RUNPATH and need no libpython" do
    libraries = Path.wildcard(Path.join(:code.priv_dir(:oxbeam_python), "native/*.so"))
    assert Enum.any?(libraries, &(Path.basename(&1) =~ ~r/^liboxbeam_python-/))

    for library <- libraries do
      {dynamic, 0} = System.cmd("readelf", ["-d", library])
      refute dynamic =~ "RUNPATH", library
      refute dynamic =~ "RPATH", library
      refute dynamic =~ "libpython", library
    end
  end
end
