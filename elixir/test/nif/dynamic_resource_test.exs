defmodule Oxbeam.NIF.DynamicResourceTest do
  # Dynamic resource calls between two NIF libraries (enif_dynamic_resource_call):
  # tests/dyncall_provider registers its Counter under the explicit name
  # "oxbeam_test.counter" with a dynamic call; tests/dyncall_consumer, which does not
  # link to it, runs that call on the provider's counters through the VM.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.DynConsumer, as: Consumer
  alias Oxbeam.Test.DynProvider, as: Provider
  alias Oxbeam.Test.LogForwarder

  @provider "Elixir.Oxbeam.Test.DynProvider"
  @consumer "Elixir.Oxbeam.Test.DynConsumer"
  @name "oxbeam_test.counter"

  defp not_found(module, name) do
    "dynamic resource call: the term is not a resource of type #{inspect(name)} of module " <>
      "#{module} with a dynamic call (another term or type, no such library loaded, or no " <>
      "dyncall)"
  end

  defp assert_not_found(module, name, term) do
    message = not_found(module, name)
    assert_raise RuntimeError, message, fn -> Consumer.add(module, name, term, 1) end
  end

  describe "a dynamic call" do
    test "runs the provider's callback on its object, which reads and writes the call data" do
      counter = Provider.new_counter(10)
      assert Consumer.add(@provider, @name, counter, 5) == 15
      # The provider's own view of the object changed.
      assert Provider.counter_value(counter) == 15
      assert Consumer.read(@provider, @name, counter) == 15
      assert Consumer.add(@provider, @name, counter, -20) == -5
      assert Provider.counter_value(counter) == -5
    end

    test "runs from many processes at once" do
      counter = Provider.new_counter(0)

      1..20
      |> Task.async_stream(fn _ ->
        for _ <- 1..100, do: Consumer.add(@provider, @name, counter, 1)
      end)
      |> Stream.run()

      assert Provider.counter_value(counter) == 2000
    end

    test "finds the type by its explicit name only, not by the derived one" do
      counter = Provider.new_counter(1)
      assert_not_found(@provider, "Counter", counter)
      assert_not_found(@provider, "oxbeam_dyncall_provider::Counter", counter)
      assert Provider.counter_value(counter) == 1
    end

    test "with another name fails with the documented message" do
      counter = Provider.new_counter(1)
      # A name that is an atom already (another type of the provider) ...
      assert_not_found(@provider, "oxbeam_test.silent", counter)
      # ... and one that is no atom (none is created).
      name = "oxbeam_test.no_such_type_#{System.unique_integer([:positive])}"
      assert_not_found(@provider, name, counter)
      assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
      assert Provider.counter_value(counter) == 1
    end

    test "on a term that is not that resource fails with the documented message" do
      # A type with an explicit name and no dynamic call.
      assert_not_found(@provider, "oxbeam_test.silent", Provider.new_silent())
      # Another type of the provider, a reference, a number.
      assert_not_found(@provider, @name, Provider.new_plain())
      assert_not_found(@provider, @name, Provider.new_silent())
      assert_not_found(@provider, @name, make_ref())
      assert_not_found(@provider, @name, 42)
      # A type of another module under the same name: a name is per module.
      mirror = Consumer.new_mirror()
      assert_not_found(@provider, @name, mirror)
      assert Consumer.add(@consumer, @name, mirror, 5) == -5
    end

    test "to a module without that library fails with the documented message" do
      counter = Provider.new_counter(3)
      assert_not_found("Elixir.Enum", @name, counter)
      assert_not_found("Elixir.Oxbeam.Test.NoSuchProvider", @name, counter)
      assert Provider.counter_value(counter) == 3
    end

    test "with call data of another type is refused by the provider, which does not run" do
      counter = Provider.new_counter(4)

      message =
        "dynamic resource call to \"oxbeam_test.counter\" of module Elixir.Oxbeam.Test.DynProvider: " <>
          "the provider expects call data \"oxbeam_test.counter_call/1\" (24 bytes, align 8), " <>
          "the caller passed \"oxbeam_test.other_call/1\" (8 bytes, align 8)"

      assert_raise RuntimeError, message, fn ->
        Consumer.call_with_other_data(@provider, @name, counter)
      end

      assert Provider.counter_value(counter) == 4
    end
  end

  describe "a frame built by hand (as a library in C would)" do
    test "with the provider's tag runs the call; with another tag is refused" do
      counter = Provider.new_counter(2)
      tag = "oxbeam_test.counter_call/1"

      assert Consumer.add_with_hand_built_frame(@provider, @name, counter, tag, 3) ==
               {1, nil, 5}

      assert Consumer.add_with_hand_built_frame(@provider, @name, counter, "other/1", 3) ==
               {2, tag, 0}

      assert Provider.counter_value(counter) == 5
    end

    # A NULL tag once made a slice from NULL (undefined behaviour; a debug build aborts
    # on it): run where an abort takes only a child VM down.
    test "with a NULL tag is refused (child VM)" do
      {output, status} =
        Oxbeam.Test.NifChild.run("""
        alias Oxbeam.Test.{DynConsumer, DynProvider}
        counter = DynProvider.new_counter(2)
        result = DynConsumer.add_with_hand_built_frame("#{@provider}", "#{@name}", counter, nil, 3)
        IO.puts("RESULT " <> inspect({result, DynProvider.counter_value(counter)}))
        """)

      assert status == 0, output
      assert output =~ ~s|RESULT {{2, "oxbeam_test.counter_call/1", 0}, 2}|
    end
  end

  describe "a hot upgrade of the provider (child VM)" do
    @describetag :tmp_dir
    @describetag timeout: 600_000

    # Run by the child VM: reloads the provider with a copy of the same library, then
    # with version 2 (another layout of Counter under the same name).
    @scenario ~S"""
    defmodule Scenario do
      alias Oxbeam.Test.DynProvider, as: P
      alias Oxbeam.Test.DynConsumer, as: C

      @provider "Elixir.Oxbeam.Test.DynProvider"
      @name "oxbeam_test.counter"

      def main(same, changed) do
        counter = P.new_counter(1)
        result("before", {P.version(), C.add(@provider, @name, counter, 1)})

        result("same layout", Oxbeam.Test.NifStubs.reload(P, same))
        # Taken over: the new library's functions accept the old object.
        result("after same", {P.version(), C.add(@provider, @name, counter, 1), P.counter_value(counter)})
        result("purged", :code.soft_purge(P))

        result("changed layout", Oxbeam.Test.NifStubs.reload(P, changed))
        # Refused: the library that took over stays, with its objects.
        result("after changed", {P.version(), C.add(@provider, @name, counter, 1), P.counter_value(counter)})
      end

      defp result(name, value), do: IO.puts("RESULT #{name}: #{inspect(value)}")
    end

    Scenario.main(System.fetch_env!("SAME_LIBRARY"), System.fetch_env!("CHANGED_LIBRARY"))
    """

    test "takes the named type over when its layout is the same, and refuses another layout",
         %{tmp_dir: tmp_dir} do
      same = Path.join(tmp_dir, "liboxbeam_dyncall_provider_same.so")
      File.cp!(loaded_provider_library(), same)
      changed = build_variant!(tmp_dir, "v2")

      {output, status} =
        Oxbeam.Test.NifChild.run(@scenario,
          timeout_s: 120,
          env: [{"SAME_LIBRARY", same}, {"CHANGED_LIBRARY", changed}]
        )

      assert status == 0, output
      lines = String.split(output, "\n", trim: true)
      results = for "RESULT " <> result <- lines, do: result

      assert results == [
               ~s|before: {"v1", 2}|,
               "same layout: :ok",
               ~s|after same: {"v1", 3, 3}|,
               "purged: true",
               ~s|changed layout: {:error, {:upgrade, "Library upgrade-call unsuccessful (1)."}}|,
               ~s|after changed: {"v1", 4, 4}|
             ]

      assert output =~
               "oxbeam: Oxbeam.Test.DynProvider: the resource type Counter is registered under " <>
                 "the name \"oxbeam_test.counter\", which the old library holds with another " <>
                 "layout (now size 16, align 8, version 0): one name cannot stand for two " <>
                 "layouts, and taking the old objects over would be unsound, so this library " <>
                 "refuses to load (give the changed type another name)"
    end
  end

  describe "two types under one name (child VM)" do
    @describetag :tmp_dir
    @describetag timeout: 600_000

    # Run by a child VM without this project's modules on its code path (Elixir would
    # load the compiled provider module first): a first load of the provider module
    # with a library that registers two types under one name.
    @fresh_load ~S"""
    module = Oxbeam.Test.DynProvider
    path = System.fetch_env!("DUPLICATE_LIBRARY") |> Path.rootname() |> String.to_charlist()
    # The NIFs' names from the compiled module's file.
    beam = System.fetch_env!("PROVIDER_BEAM") |> String.to_charlist()
    {:ok, {_, [exports: exports]}} = :beam_lib.chunks(beam, [:exports])

    functions =
      for {name, arity} <- exports,
          name not in [:module_info, :__info__, :__oxbeam_load__, :__mix_recompile__?] do
        args = for i <- 1..arity//1, do: Macro.var(:"_arg#{i}", nil)
        quote do: def(unquote(name)(unquote_splicing(args)), do: :erlang.nif_error(:not_loaded))
      end

    IO.puts("RESULT loaded before: #{inspect(:code.is_loaded(module))}")

    ast =
      quote do
        defmodule unquote(module) do
          @on_load :__load__
          def __load__ do
            result = :erlang.load_nif(unquote(path), 0)
            :persistent_term.put(:load_result, result)
            result
          end

          unquote_splicing(functions)
        end
      end

    Code.compile_quoted(ast)

    result =
      case :persistent_term.get(:load_result) do
        {:error, {kind, text}} -> {:error, {kind, to_string(text)}}
        other -> other
      end

    IO.puts("RESULT load: #{inspect(result)}")
    IO.puts("RESULT loaded after: #{inspect(:code.is_loaded(module))}")
    """

    test "a library with two types under one name refuses to load", %{tmp_dir: tmp_dir} do
      duplicate = build_variant!(tmp_dir, "duplicate_name")

      {output, status} =
        Oxbeam.Test.NifChild.run(@fresh_load,
          timeout_s: 120,
          code_path: false,
          env: [
            {"DUPLICATE_LIBRARY", duplicate},
            {"PROVIDER_BEAM", :code.which(Provider) |> to_string()}
          ]
        )

      assert status == 0, output
      results = for "RESULT " <> result <- String.split(output, "\n", trim: true), do: result

      assert results == [
               "loaded before: false",
               ~s|load: {:error, {:load, "Library load-call unsuccessful (1)."}}|,
               "loaded after: false"
             ]

      assert output =~
               "oxbeam: Oxbeam.Test.DynProvider: the resource types Counter and Impostor are " <>
                 "both registered under the name \"oxbeam_test.counter\": a name stands for " <>
                 "one type, so this library refuses to load"
    end
  end

  describe "a failing callback" do
    setup do
      LogForwarder.attach(:"oxbeam_dyncall_#{System.unique_integer([:positive])}")
    end

    test "a panic is caught in the provider, logged, and the caller gets an error" do
      counter = Provider.new_counter(6)

      message =
        "dynamic resource call to \"oxbeam_test.counter\" of module Elixir.Oxbeam.Test.DynProvider: " <>
          "the provider's callback failed (see the VM's log)"

      assert_raise RuntimeError, message, fn ->
        Consumer.ask_to_panic(@provider, @name, counter)
      end

      assert_receive {:logged,
                      "oxbeam: Oxbeam.Test.DynProvider: the dynamic call of resource Counter failed: " <>
                        rest},
                     5_000

      assert rest =~
               ~r"^panicked at tests/dyncall_provider/src/lib.rs:\d+:\d+: asked to panic with 7$"

      # The VM, the provider and the object go on.
      assert Consumer.add(@provider, @name, counter, 1) == 7
      assert Provider.counter_value(counter) == 7
    end

    test "data that is not an oxbeam call frame (through the raw call) is logged and ignored" do
      counter = Provider.new_counter(8)
      assert Consumer.call_raw_with_zeros(@provider, @name, counter)

      assert_receive {:logged,
                      "oxbeam: Oxbeam.Test.DynProvider: the dynamic call of resource Counter was " <>
                        "called with data that is not an oxbeam call frame: ignored"},
                     5_000

      assert Provider.counter_value(counter) == 8
      # The raw call reports what the VM found.
      refute Consumer.call_raw_with_zeros(@provider, "oxbeam_test.silent", counter)
    end
  end

  # The provider library this VM loaded (the child VM's first version).
  defp loaded_provider_library do
    {:ok, dir} = Oxbeam.__library_path__(:oxbeam, ~c"")
    dir = to_string(dir)

    dir
    |> File.ls!()
    |> Enum.filter(&String.starts_with?(&1, "liboxbeam_dyncall_provider"))
    |> Enum.map(&Path.join(dir, &1))
    |> Enum.max_by(&File.stat!(&1, time: :posix).mtime)
  end

  # Builds the provider with `feature` in the mode version 1 was built in, and copies
  # it to a fresh path (as test/nif/upgrade_layout_test.exs does).
  defp build_variant!(tmp_dir, feature) do
    manifest = Path.expand("../tests/dyncall_provider/Cargo.toml", File.cwd!())
    cargo = System.find_executable("cargo") || Path.expand("~/.cargo/bin/cargo")

    args =
      ["build", "--manifest-path", manifest, "--features", feature] ++
        ["--message-format=json-render-diagnostics"] ++
        if Oxbeam.Build.default_mode() == :release, do: ["--release"], else: []

    {output, status} = System.cmd("timeout", ["400", cargo | args], stderr_to_stdout: true)
    assert status == 0, output
    json = output |> String.split("\n") |> Enum.filter(&String.starts_with?(&1, "{\"reason\":"))
    artifact = Oxbeam.Build.find_artifact(json, "oxbeam_dyncall_provider", manifest)
    copy = Path.join(tmp_dir, "liboxbeam_dyncall_provider_#{feature}.so")
    File.cp!(artifact, copy)
    copy
  end
end
