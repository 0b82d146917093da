defmodule Oxbeam.StubsTest do
  # `use Oxbeam` on a fabricated library (skip_compilation?: true, no cargo): the stubs,
  # their docs and specs, functions the module defines itself, and what a stub raises
  # when the library does not load.
  #
  # Not async: `mix test` compiles test files with `docs: false` while async tests
  # already run, and the RSS checks of other suites should not see these compiles.
  use ExUnit.Case, async: false

  @priv_native Path.join([Mix.Project.build_path(), "lib", "oxbeam", "priv", "native"])

  defp nif(name, arity, names, specs, ret, doc) do
    "OXBEAM\x1Fnif\x1F#{name}\x1F#{arity}\x1F#{names}\x1F#{Enum.join(specs, "\x1D")}\x1F" <>
      "#{ret}\x1Fnormal\x1F#{doc}\x1E"
  end

  # Writes a library with the given records into priv/native and compiles a module
  # using it; returns {module, beam binary, library path}.
  defp compile(body, records_for) do
    n = System.unique_integer([:positive])
    module = Module.concat(__MODULE__, "Native#{n}")
    crate = "oxbeam_fake_stub_#{n}"
    library = Path.join(@priv_native, "lib#{crate}-000000.so")
    File.mkdir_p!(@priv_native)
    File.write!(library, ["not an ELF file\0" | records_for.(module)])
    on_exit(fn -> File.rm(library) end)

    source = """
    defmodule #{inspect(module)} do
      use Oxbeam, otp_app: :oxbeam, crate: #{inspect(crate)}, skip_compilation?: true
      #{body}
    end
    """

    [{^module, beam}] = with_docs(fn -> Code.compile_string(source) end)
    {module, beam, library}
  end

  # Compiles with docs and debug info (the chunks these tests read), whatever `mix
  # test` set for compiling test files (Elixir 1.18 leaves `docs: false` on while the
  # tests run).
  defp with_docs(compile) do
    options = Code.compiler_options()
    Code.put_compiler_option(:docs, true)
    Code.put_compiler_option(:debug_info, true)

    try do
      compile.()
    after
      Code.put_compiler_option(:docs, options.docs)
      Code.put_compiler_option(:debug_info, options.debug_info)
    end
  end

  defp records(module) do
    [
      "OXBEAM\x1Finit\x1F#{module}\x1E",
      nif("add", 2, "a,b", ["integer()", "integer()"], "integer()", "Adds two integers."),
      nif("valid?", 1, "text", ["String.t()"], "boolean()", "Checks.\n\nReally."),
      nif("undocumented!", 0, "", [], ":ok", ""),
      nif("odd_spec", 1, "x", ["not a (type"], "term()", "Spec skipped."),
      nif("mine", 1, "x", ["term()"], "term()", "The module's own."),
      nif("add", 2, "a,b", ["integer()", "integer()"], "integer()", "Adds two integers.")
    ]
  end

  test "defines a documented, specced stub per NIF; the module's own functions stay" do
    {module, beam, library} = compile("def mine(x), do: {:mine, x}", &records/1)

    assert {:mine, 1} = module.mine(1)

    for {name, arity} <- [add: 2, valid?: 1, undocumented!: 0, odd_spec: 1] do
      assert function_exported?(module, name, arity)
    end

    # Not loaded (the file is not a library): every stub says why.
    message = "the NIF library for #{inspect(module)} is not loaded: "
    error = assert_raise Oxbeam.NotLoadedError, fn -> module.add(1, 2) end
    assert String.starts_with?(error.message, message)
    assert error.message =~ Path.basename(library, ".so")
    assert_raise Oxbeam.NotLoadedError, fn -> module.undocumented!() end

    refute Oxbeam.loaded?(module)
    assert Oxbeam.load_error(module) =~ Path.basename(library, ".so")

    # Docs: the Rust `///` text; nothing (not @doc false) when there is none.
    {:ok, {^module, chunks}} = :beam_lib.chunks(beam, [~c"Docs"], [:allow_missing_chunks])
    assert [{~c"Docs", docs_chunk}] = chunks
    assert is_binary(docs_chunk)
    {:docs_v1, _, :elixir, _, _, _, docs} = :erlang.binary_to_term(docs_chunk)

    doc = fn name, arity ->
      Enum.find_value(docs, fn
        {{:function, ^name, ^arity}, _, signature, doc, _} -> {signature, doc}
        _ -> nil
      end)
    end

    assert {["add(a, b)"], %{"en" => "Adds two integers."}} = doc.(:add, 2)
    assert {["valid?(text)"], %{"en" => "Checks.\n\nReally."}} = doc.(:valid?, 1)
    assert {["undocumented!()"], :none} = doc.(:undocumented!, 0)
    assert {_, %{"en" => "Spec skipped."}} = doc.(:odd_spec, 1)

    # Specs from the records; none for the one that does not parse.
    {:ok, specs} = Code.Typespec.fetch_specs(beam)

    specs =
      for {{name, arity}, [spec]} <- specs, into: %{} do
        {{name, arity}, Macro.to_string(Code.Typespec.spec_to_quoted(name, spec))}
      end

    assert specs[{:add, 2}] == "add(integer(), integer()) :: integer()"
    assert specs[{:valid?, 1}] == "valid?(String.t()) :: boolean()"
    assert specs[{:undocumented!, 0}] == "undocumented!() :: :ok"
    refute Map.has_key?(specs, {:odd_spec, 1})
    refute Map.has_key?(specs, {:mine, 1})
  end

  test "a wrapped NIF: a hidden stub the library replaces, and a documented, specced wrapper" do
    wrapped = fn module ->
      ["OXBEAM\x1Finit\x1F#{module}\x1Fwrapped\x1E" | tl(records(module))] ++
        [nif("__oxbeam_tests__", 0, "", [], "term()", "")]
    end

    {module, beam, _} = compile("def mine(x), do: {:mine, x}", wrapped)

    # The module's own function stays; the NIF is still reachable under its hidden name.
    assert module.mine(1) == {:mine, 1}

    for {name, arity} <- [add: 2, valid?: 1, undocumented!: 0, odd_spec: 1, mine: 1] do
      assert function_exported?(module, name, arity)
      assert function_exported?(module, :"__oxbeam_nif__#{name}", arity)
    end

    # oxbeam's own hidden NIFs keep their names.
    assert function_exported?(module, :__oxbeam_tests__, 0)
    refute function_exported?(module, :__oxbeam_nif____oxbeam_tests__, 0)

    {:ok, {^module, [{~c"Docs", docs_chunk}]}} = :beam_lib.chunks(beam, [~c"Docs"])
    {:docs_v1, _, :elixir, _, _, _, docs} = :erlang.binary_to_term(docs_chunk)

    doc = fn name, arity ->
      Enum.find_value(docs, fn
        {{:function, ^name, ^arity}, _, signature, doc, _} -> {signature, doc}
        _ -> nil
      end)
    end

    assert {["add(a, b)"], %{"en" => "Adds two integers."}} = doc.(:add, 2)
    assert {["valid?(text)"], %{"en" => "Checks.\n\nReally."}} = doc.(:valid?, 1)
    assert {_, :hidden} = doc.(:__oxbeam_nif__add, 2)

    {:ok, specs} = Code.Typespec.fetch_specs(beam)
    specs = Map.new(specs, fn {{name, arity}, _} -> {{name, arity}, true} end)
    assert specs[{:add, 2}]
    refute specs[{:__oxbeam_nif__add, 2}]

    # Not loaded: the wrapper raises what the hidden stub raised, and the stack trace
    # names the public function only (the wrapper's frame is left out).
    {error, stacktrace} =
      try do
        module.add(1, 2)
      rescue
        error -> {error, __STACKTRACE__}
      end

    assert %Oxbeam.NotLoadedError{} = error

    assert String.starts_with?(
             error.message,
             "the NIF library for #{inspect(module)} is not loaded: "
           )

    assert [{:erlang, :nif_error, _, _}, {^module, :add, 2, _}, {__MODULE__, _, _, _} | _] =
             stacktrace
  end

  test "a Rustler-style stub the module writes becomes the wrapper; its own @doc and @spec stay" do
    wrapped = fn module ->
      ["OXBEAM\x1Finit\x1F#{module}\x1Fwrapped\x1E" | tl(records(module))]
    end

    body = """
    @doc "My own doc."
    @spec add(pos_integer(), pos_integer()) :: pos_integer()
    def add(_a, _b), do: :erlang.nif_error(:nif_not_loaded)

    def valid?(text), do: {:mine, text}
    """

    warnings =
      ExUnit.CaptureIO.capture_io(:stderr, fn ->
        {module, beam, _} = compile(body, wrapped)
        send(self(), {:compiled, module, beam})
      end)

    assert warnings == ""
    assert_received {:compiled, module, beam}

    # The stub became the wrapper of the hidden NIF (not loaded here: it says so).
    assert_raise Oxbeam.NotLoadedError, ~r/^the NIF library for .* is not loaded: /, fn ->
      module.add(1, 2)
    end

    # A function that is not a nif_error stub stays the module's.
    assert module.valid?("x") == {:mine, "x"}

    {:ok, {^module, [{~c"Docs", docs_chunk}]}} = :beam_lib.chunks(beam, [~c"Docs"])
    {:docs_v1, _, :elixir, _, _, _, docs} = :erlang.binary_to_term(docs_chunk)
    assert [%{"en" => "My own doc."}] = for({{:function, :add, 2}, _, _, doc, _} <- docs, do: doc)

    {:ok, specs} = Code.Typespec.fetch_specs(beam)
    assert [{{:add, 2}, [spec]}] = for({{:add, 2}, _} = entry <- specs, do: entry)

    assert Macro.to_string(Code.Typespec.spec_to_quoted(:add, spec)) ==
             "add(pos_integer(), pos_integer()) :: pos_integer()"
  end

  test "a spec written with #[nif(spec = ...)] replaces the derived one; a bad one is a compile error" do
    written = fn spec ->
      fn module ->
        [
          "OXBEAM\x1Finit\x1F#{module}\x1E",
          "OXBEAM\x1Fnif\x1Fadd\x1F2\x1Fa,b\x1Finteger()\x1Dinteger()\x1Finteger()\x1Fnormal\x1F\x1F" <>
            spec <> "\x1E"
        ]
      end
    end

    {_, beam, _} = compile("", written.("add(pos_integer(), pos_integer()) :: pos_integer()"))

    {:ok, [{{:add, 2}, [spec]}]} = Code.Typespec.fetch_specs(beam)

    assert Macro.to_string(Code.Typespec.spec_to_quoted(:add, spec)) ==
             "add(pos_integer(), pos_integer()) :: pos_integer()"

    for bad <- ["sub(integer(), integer()) :: integer()", "add(integer()) :: integer()", "add(("] do
      assert_raise Mix.Error,
                   "the spec written for add/2 with #[nif(spec = ...)] is not a typespec for add/2: #{inspect(bad)}",
                   fn -> compile("", written.(bad)) end
    end
  end

  test "a function the module writes itself wins over the stub, without a warning" do
    warnings =
      ExUnit.CaptureIO.capture_io(:stderr, fn ->
        {module, _, _} = compile("def add(a, b), do: {:mine, a, b}", &records/1)

        assert module.add(1, 2) == {:mine, 1, 2}
      end)

    assert warnings == ""
  end

  test "a stub of a NIF the loaded library lacks names the function" do
    {module, _, _} = compile("", &records/1)
    key = {Oxbeam, module}
    :persistent_term.put(key, :ok)
    on_exit(fn -> :persistent_term.erase(key) end)

    assert Oxbeam.loaded?(module)
    assert Oxbeam.load_error(module) == nil

    assert_raise Oxbeam.NotLoadedError,
                 "the NIF library for #{inspect(module)} does not define add/2 (rebuild the crate?)",
                 fn -> module.add(1, 2) end
  end

  test "load status of a module that is not an Oxbeam module" do
    refute Oxbeam.loaded?(Enum)
    assert Oxbeam.load_error(Enum) =~ "Enum was not loaded"
  end

  test "the library must be built for the module" do
    assert_raise Mix.Error,
                 ~r/calls `oxbeam::init!\("Elixir.Elsewhere"\)` but is used from/,
                 fn ->
                   compile("", fn _ -> ["OXBEAM\x1Finit\x1FElixir.Elsewhere\x1E"] end)
                 end
  end

  test "bad options are compile errors" do
    for {options, message} <- [
          {"crate: \"x\"", ~r/needs otp_app: :my_app/},
          {"otp_app: :x", ~r/needs crate: "my_crate"/},
          {"otp_app: :x, crate: \"x\", mode: :fast", ~r/mode: must be :release or :debug/},
          {"otp_app: :x, crate: \"x\", features: \"a\"", ~r/features: must be a list of strings/},
          {"otp_app: :x, crate: \"x\", colour: :red", ~r/unknown option\(s\) \[:colour\]/}
        ] do
      assert_raise Mix.Error, message, fn ->
        Code.compile_string("defmodule Oxbeam.StubsTest.Bad do use Oxbeam, #{options} end")
      end
    end
  end

  test "Rustler's option forms: crate: as an atom, load_data_fun:; bad values are exact errors" do
    config = Oxbeam.Build.config!(M, otp_app: :x, crate: :my_nif)
    assert config.crate == "my_nif"
    assert config.library_name == "libmy_nif"
    assert config.path == Path.expand("native/my_nif")
    assert Oxbeam.Build.config!(M, otp_app: :x, crate: "my-nif").library_name == "libmy_nif"

    config = Oxbeam.Build.config!(M, otp_app: :x, crate: "x", load_data_fun: {Deploy, :data})
    assert config.load_data_fun == {Deploy, :data}
    assert Oxbeam.Build.config!(M, otp_app: :x, crate: "x").load_data_fun == nil

    for {options, message} <- [
          {[crate: 42], "crate: must be a string or an atom (the cargo package name), got: 42"},
          {[crate: true],
           "crate: must be a string or an atom (the cargo package name), got: true"},
          {[crate: ""], "crate: must be a string or an atom (the cargo package name), got: \"\""},
          {[crate: "x", load_data_fun: :oops],
           "load_data_fun: must be {Module, :function} (a function of no arguments, called " <>
             "when the module is loaded), got: :oops"},
          {[crate: "x", load_data_fun: {Deploy, :data, []}],
           "load_data_fun: must be {Module, :function} (a function of no arguments, called " <>
             "when the module is loaded), got: {Deploy, :data, []}"},
          {[crate: "x", load_data_fun: {Deploy, :data}, load_data: 1],
           "use Oxbeam in M: load_data: and load_data_fun: exclude each other " <>
             "(load_data_fun's result is the load data)"}
        ] do
      assert_raise Mix.Error, message, fn ->
        Oxbeam.Build.config!(M, [otp_app: :x] ++ options)
      end
    end
  end

  test "load_data_fun: is called at load; a failure is the load error" do
    assert Oxbeam.__load_data__({:value, {:a, 1}}) == {:ok, {:a, 1}}
    assert Oxbeam.__load_data__({:fun, Oxbeam.StubsTest.LoadData, :data}) == {:ok, {:data, 1}}

    assert Oxbeam.__load_data__({:fun, Oxbeam.StubsTest.LoadData, :fail}) ==
             {:error,
              {:load_data_fun,
               "load_data_fun: Oxbeam.StubsTest.LoadData.fail/0 failed: " <>
                 "** (RuntimeError) no data here"}}
  end
end

defmodule Oxbeam.StubsTest.LoadData do
  def data, do: {:data, 1}
  def fail, do: raise("no data here")
end
