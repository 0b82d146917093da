defmodule Oxbeam.NIF.SoundnessTest do
  # Paired with tests/conformance/src/soundness.rs. Each case here crashed the VM, read
  # freed memory or was silently swallowed before its fix; the ones that could take a
  # VM down run in a child VM (Oxbeam.Test.NifChild).
  use ExUnit.Case, async: false
  alias Oxbeam.Test.Conformance, as: NIF
  alias Oxbeam.Test.NifChild

  setup do
    Oxbeam.Test.LogForwarder.attach(:oxbeam_soundness)
  end

  defp collect_garbage do
    for pid <- Process.list(), do: :erlang.garbage_collect(pid)
    :ok
  end

  describe "a lazily found decode error" do
    test "resumed in a later call raises the message it had, without reading dead terms" do
      {out, 0} =
        NifChild.run("""
        alias Oxbeam.Test.Conformance, as: NIF
        spawn(fn -> IO.inspect(NIF.lazy_error_stash([1, {:not, "an integer"}, 3])) end)
        Process.sleep(100)
        for pid <- Process.list(), do: :erlang.garbage_collect(pid)
        _garbage = for i <- 1..100_000, do: {i, "#{"x"}"}
        try do
          NIF.lazy_error_resume()
        rescue
          e in ArgumentError -> IO.puts(Exception.message(e))
        end
        """)

      assert out ==
               ":stashed\n" <>
                 "Oxbeam.Test.Conformance.lazy_error_resume/0: element 1 of the list: " <>
                 "expected an integer (i64), got: {:not, \"an integer\"}\n"
    end
  end

  describe "failures in VM callbacks are logged, never swallowed or aborting" do
    test "a panic in a resource's Drop" do
      spawn(fn -> NIF.failing_drop_new("panic") end)
      Process.sleep(50)
      collect_garbage()

      assert_receive {:logged, text}, 5_000

      assert text =~
               ~r"^oxbeam: Oxbeam.Test.Conformance: the destructor of resource FailingDrop failed: panicked at tests/conformance/src/soundness.rs:\d+:\d+: boom in drop$"

      assert NIF.add(1, 2) == 3
    end

    test "oxbeam::raise in a resource's Drop, with where it was raised" do
      spawn(fn -> NIF.failing_drop_new("raise") end)
      Process.sleep(50)
      collect_garbage()

      assert_receive {:logged, text}, 5_000

      assert text =~
               ~r"^oxbeam: Oxbeam.Test.Conformance: the destructor of resource FailingDrop failed: raised at tests/conformance/src/soundness.rs:\d+:\d+: \(ArgumentError\) raised in drop$"
    end

    test "a panic in a down callback" do
      target = spawn(fn -> receive do: (:stop -> :ok) end)
      watcher = NIF.failing_down_watch(target)
      send(target, :stop)

      assert_receive {:logged, text}, 5_000

      assert text =~
               ~r"^oxbeam: Oxbeam.Test.Conformance: the down callback of resource FailingDown failed: panicked at tests/conformance/src/soundness.rs:\d+:\d+: boom in down$"

      # The watcher (kept alive until here, so its monitor could fire) is still a live
      # resource term, and the VM goes on.
      assert is_reference(watcher)
      assert NIF.add(1, 2) == 3
    end

    test "a raise in the load hook reports its message, not Box<dyn Any>" do
      for {tag, expected} <- [
            raise_in_load:
              ~r"loading the NIF library failed: raised at tests/conformance/src/lib.rs:\d+:\d+: \(RuntimeError\) load went wrong",
            panic_in_load:
              ~r"loading the NIF library failed: panicked at tests/conformance/src/lib.rs:\d+:\d+: load went wrong"
          ] do
        # A module of the same name with a stub for each NIF, loading the library
        # with a load info that makes the load hook fail.
        stubs = Oxbeam.Test.NifStubs.stubs(NIF)

        module =
          quote do
            defmodule Oxbeam.Test.Conformance do
              unquote_splicing(stubs)
              def load(path), do: :erlang.load_nif(path, {unquote(tag), "load went wrong"})
            end
          end

        {out, 0} =
          NifChild.run(
            """
            #{Macro.to_string(module)}
            path = String.to_charlist(#{inspect(Path.rootname(NifChild.conformance_library()))})
            IO.inspect(Oxbeam.Test.Conformance.load(path))
            Logger.flush()
            """,
            code_path: false
          )

        assert out =~ expected
        assert out =~ ~r"\{:error, \{:load, (~c)?.Library load-call unsuccessful \(2\)\..\}\}"
        refute out =~ "Box<dyn Any>"
      end
    end

    test "a panicking Drop of the private data on unload is reported, not an abort" do
      {out, status} =
        NifChild.run("""
        alias Oxbeam.Test.Conformance, as: NIF
        true = NIF.arm_private_data_drop_panic()
        :code.delete(NIF)
        :code.purge(NIF)
        Process.sleep(200)
        Logger.flush()
        IO.puts("still alive")
        """)

      assert status == 0, out

      assert out =~
               ~r"oxbeam: Oxbeam.Test.Conformance: dropping the private data on unload failed: panicked at tests/conformance/src/lib.rs:\d+:\d+: boom dropping the private data"

      assert out =~ "still alive"
    end
  end

  describe "sizes from the caller that cannot be allocated" do
    test "raise SystemLimitError instead of aborting the VM" do
      {out, 0} =
        NifChild.run("""
        alias Oxbeam.Test.Conformance, as: NIF
        import Bitwise
        for f <- [
              fn -> NIF.new_binary_of(1 <<< 50) end,
              fn -> NIF.huge_elements(List.duplicate(0, 4_000_000)) end,
              fn -> NIF.huge_values(Map.new(1..1_000_000, &{&1, 0})) end
            ] do
          try do
            f.()
          rescue
            e in SystemLimitError -> IO.puts(Exception.message(e))
          end
        end
        IO.puts(byte_size(NIF.new_binary_of(100_000)))
        """)

      assert out ==
               """
               could not allocate a binary of 1125899906842624 bytes
               cannot allocate Vec<HugeInline> for 4000000 elements
               cannot allocate HashMap<i64, HugeInline> for 1000000 elements
               100000
               """
    end

    test "the try_ forms return the error instead of raising" do
      assert NIF.try_forms() == [
               "(SystemLimitError) could not allocate a binary of 9223372036854775807 bytes",
               "(SystemLimitError) could not allocate a binary of 9223372036854775807 bytes",
               "(ArgumentError) cannot encode NaN as an Erlang float: the BEAM has no NaN or infinity",
               "(ArgumentError) sub-binary 2..7 out of bounds of a binary of 3 bytes"
             ]
    end
  end

  test "a large block allocated before the library was loaded is freed by its own allocator" do
    {out, 0} =
      NifChild.run("""
      IO.inspect(Oxbeam.Test.Conformance.free_preload_block())
      IO.inspect(Oxbeam.Test.Conformance.free_preload_block())
      """)

    assert out == "#{7 * 64 * 1024}\nnil\n"
  end
end
