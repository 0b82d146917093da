defmodule Oxbeam.MetadataTest do
  # The records `#[nif]` and `init!` embed in a library, read from fabricated binaries;
  # the cargo JSON and dep-info parsing of Oxbeam.Build. No cargo involved.
  use ExUnit.Case, async: false

  alias Oxbeam.{Build, Metadata}

  defp nif(name, arity, names, specs, ret, schedule \\ "normal", doc \\ "") do
    "OXBEAM\x1Fnif\x1F#{name}\x1F#{arity}\x1F#{names}\x1F#{Enum.join(specs, "\x1D")}\x1F" <>
      "#{ret}\x1F#{schedule}\x1F#{doc}\x1E"
  end

  defp init(module), do: "OXBEAM\x1Finit\x1F#{module}\x1E"

  defp library(tmp_dir, parts) do
    path = Path.join(tmp_dir, "lib#{System.unique_integer([:positive])}.so")
    # Records sit between arbitrary bytes in a real library.
    File.write!(path, Enum.intersperse(parts, <<0, 1, 2, "OXBEAM", 0xFF, 0>>))
    path
  end

  @tag :tmp_dir
  test "reads every NIF once, with names, specs, schedule and docs", %{tmp_dir: dir} do
    add = nif("add", 2, "a,b", ["integer()", "integer()"], "integer()", "normal", "Adds.")
    doc = "Checks.\n\n    iex> ok?()\n    true"

    path =
      library(dir, [
        "\x7FELF",
        add,
        init("Elixir.My.Native"),
        nif("ok?", 0, "", [], "boolean()", "dirty_cpu", doc),
        add,
        nif("parse!", 1, "text", ["String.t()"], "term()", "dirty_io")
      ])

    assert [
             %Metadata.Nif{
               name: :add,
               arity: 2,
               arg_names: ["a", "b"],
               arg_specs: ["integer()", "integer()"],
               return_spec: "integer()",
               schedule: "normal",
               doc: "Adds."
             },
             %Metadata.Nif{name: :ok?, arity: 0, arg_names: [], arg_specs: [], doc: ^doc},
             %Metadata.Nif{name: :parse!, arity: 1, arg_specs: ["String.t()"]}
           ] = Metadata.read!(path, My.Native, "my_nif")
  end

  @tag :tmp_dir
  test "a library for another module, or without init!, is a compile error", %{tmp_dir: dir} do
    other = library(dir, [init("Elixir.Other"), nif("f", 0, "", [], "term()")])

    message =
      "the crate \"my_nif\" calls `oxbeam::init!(\"Elixir.Other\")` but is used from " <>
        "My.Native: write `oxbeam::init!(\"Elixir.My.Native\");`"

    assert_raise Mix.Error, message, fn -> Metadata.read!(other, My.Native, "my_nif") end

    none = library(dir, [nif("f", 0, "", [], "term()")])

    assert_raise Mix.Error,
                 ~r/has no `oxbeam::init!`: add `oxbeam::init!\("Elixir.My.Native"\);`/,
                 fn ->
                   Metadata.read!(none, My.Native, "my_nif")
                 end
  end

  test "malformed records are ignored" do
    binary =
      "OXBEAM\x1Fnif\x1Fbad\x1Fx\x1F\x1F\x1Fterm()\x1Fnormal\x1F\x1E" <>
        "OXBEAM\x1Fnif\x1Ftoo\x1Ffew\x1E" <>
        init("Elixir.M") <> nif("good", 1, "x", ["term()"], "term()") <> "OXBEAM\x1Finit"

    assert {[{"Elixir.M", :direct}], [%Metadata.Nif{name: :good, arity: 1}]} =
             Metadata.records(binary)
  end

  @tag :tmp_dir
  test "the init! record says how the NIFs are registered", %{tmp_dir: dir} do
    nifs = [
      nif("add", 2, "a,b", ["integer()", "integer()"], "integer()"),
      nif("__oxbeam_tests__", 0, "", [], "term()")
    ]

    registered = fn init_record ->
      dir
      |> library([init_record | nifs])
      |> Metadata.read!(My.Native, "my_nif")
      |> Enum.map(&{&1.name, &1.registered})
    end

    # init!'s default: wrapped, except oxbeam's own hidden NIFs.
    assert registered.(init("Elixir.My.Native\x1Fwrapped")) ==
             [__oxbeam_tests__: :__oxbeam_tests__, add: :__oxbeam_nif__add]

    # init!(..., wrappers = false), and libraries built before the field existed.
    for record <- [init("Elixir.My.Native\x1Fdirect"), init("Elixir.My.Native")] do
      assert registered.(record) == [__oxbeam_tests__: :__oxbeam_tests__, add: :add]
    end

    # An unknown registration is not an init! record of this module.
    assert_raise Mix.Error, ~r/has no `oxbeam::init!`/, fn ->
      registered.(init("Elixir.My.Native\x1Fsideways"))
    end
  end

  test "spec_ast builds the @spec, or :error when a type does not parse" do
    [nif] = records(nif("add!", 2, "a,b", ["integer()", "[float()]"], "{:ok, integer()}"))

    assert {:ok, ast} = Metadata.spec_ast(nif)
    assert Macro.to_string(ast) == "add!(integer(), [float()]) :: {:ok, integer()}"

    [nif] = records(nif("zero", 0, "", [], ":ok"))
    assert {:ok, ast} = Metadata.spec_ast(nif)
    assert Macro.to_string(ast) == "zero() :: :ok"

    [nif] = records(nif("bad", 1, "x", ["integer("], "term()"))
    assert Metadata.spec_ast(nif) == :error

    [nif] = records(nif("bad", 1, "x", ["term()"], ""))
    assert Metadata.spec_ast(nif) == :error
  end

  test "types reads derived type records; resolve turns placeholders into their @type" do
    binary =
      "OXBEAM\x1Ftype\x1FPoint\x1Fvalue\x1F%{x: float()}\x1E" <>
        "OXBEAM\x1Ftype\x1FNotFound\x1Fexception\x1F%My.NotFound{path: String.t()}\x1E" <>
        "OXBEAM\x1Ftype\x1FMap\x1Fvalue\x1F%{}\x1E" <>
        "OXBEAM\x1Ftype\x1FBad\x1Fweird\x1Fterm()\x1E" <>
        "OXBEAM\x1Ftype\x1FPoint\x1Fvalue\x1Fsecond()\x1E"

    types = Metadata.types(binary)
    assert Map.keys(types) |> Enum.sort() == ["Map", "NotFound", "Point"]
    assert %Metadata.Type{type_name: :point, spec: "%{x: float()}"} = types["Point"]
    # A name Elixir uses for a built-in type gets a suffix.
    assert types["Map"].type_name == :map_value

    resolve = fn source ->
      source |> Code.string_to_quoted!() |> Metadata.resolve(types) |> Macro.to_string()
    end

    assert resolve.("[oxbeam_type(Point)]") == "[point()]"
    assert resolve.("oxbeam_type(Unknown)") == "term()"

    assert resolve.("{:ok, integer()} | {:error, oxbeam_type(Point)}") ==
             "{:ok, integer()} | {:error, point()}"

    assert Enum.map(Metadata.type_asts(types), fn {kind, ast} -> {kind, Macro.to_string(ast)} end) ==
             [
               type: "map_value() :: %{}",
               type: "not_found() :: %My.NotFound{path: String.t()}",
               type: "point() :: %{x: float()}"
             ]

    [{:opaque, ast}] =
      Metadata.type_asts(
        Metadata.types("OXBEAM\x1Ftype\x1FCounter\x1Fresource\x1Freference()\x1E")
      )

    assert Macro.to_string(ast) == "counter() :: reference()"
  end

  test "arg_vars gives valid, unique variable names" do
    vars = fn names, arity ->
      [nif] = records(nif("f", arity, names, List.duplicate("term()", arity), "term()"))
      Metadata.arg_vars(nif)
    end

    assert vars.("a,b", 2) == ["a", "b"]
    assert vars.("x,x,", 3) == ["x", "x_2", "arg3"]
    assert vars.("r#type,Self,9lives", 3) == ["type", "self", "arg3"]
    # Elixir's reserved words are fine as variables of a generated head, but for `fn`.
    assert vars.("r#fn,end,when", 3) == ["arg1", "end", "when"]
    # A record whose names do not match its arity.
    assert vars.("a", 2) == ["arg1", "arg2"]
  end

  test "find_artifact takes the cdylib of the crate's own manifest" do
    manifest = "/p/native/my_nif/Cargo.toml"

    lines = [
      ~s({"reason":"compiler-artifact","package_id":"oxbeam","manifest_path":"/o/Cargo.toml","target":{"kind":["lib"],"name":"oxbeam"},"filenames":["/t/debug/liboxbeam.rlib"]}),
      ~s({"reason":"compiler-artifact","manifest_path":"/other/Cargo.toml","target":{"kind":["cdylib"],"crate_types":["cdylib"],"name":"other"},"filenames":["/t/debug/libother.so"]}),
      ~s({"reason":"compiler-artifact","manifest_path":"#{manifest}","target":{"kind":["cdylib"],"crate_types":["cdylib"],"name":"renamed"},"filenames":["/t/a\\"b/debug/librenamed.so"]}),
      ~s({"reason":"build-finished","success":true})
    ]

    assert Build.find_artifact(lines, "my_nif", manifest) == "/t/a\"b/debug/librenamed.so"
    assert Build.find_artifact(lines, "other", "/elsewhere/Cargo.toml") == "/t/debug/libother.so"
    assert Build.find_artifact(lines, "oxbeam", "/o/Cargo.toml") == nil

    dylib =
      ~s({"reason":"compiler-artifact","manifest_path":"/m/Cargo.toml","target":{"kind":["cdylib"],"name":"m"},"filenames":["/t/libm.dylib"]})

    assert Build.find_artifact([dylib], "m", "/m/Cargo.toml") == "/t/libm.dylib"
  end

  @tag :tmp_dir
  test "dep_info_files lists the sources in cargo's .d file", %{tmp_dir: dir} do
    artifact = Path.join(dir, "libmy_nif.so")

    File.write!(Path.join(dir, "libmy_nif.d"), """
    #{artifact}: /p/src/lib.rs /p/src/with\\ space.rs /dep/src/lib.rs

    """)

    assert Build.dep_info_files(artifact) == [
             "/p/src/lib.rs",
             "/p/src/with space.rs",
             "/dep/src/lib.rs"
           ]

    assert Build.dep_info_files(Path.join(dir, "libnone.so")) == []
  end

  defp records(binary), do: binary |> Metadata.records() |> elem(1)
end
