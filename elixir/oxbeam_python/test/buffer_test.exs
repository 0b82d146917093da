defmodule Oxbeam.Python.BufferTest do
  # Paired with python-bridge/src/buffer.rs: binaries and buffers both ways without
  # copies. "No copy" is checked by address (the binary's bytes are where Python's
  # are), lifetimes by refcounts and finalizers, never by timings.
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Python.NIF

  @moduletag timeout: 120_000

  # Where decode starts sharing (python-bridge/src/buffer.rs, SHARE_FROM).
  @share_from 64 * 1024

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp run(code, globals \\ %{}, opts \\ []),
    do: code |> Py.eval(globals, opts) |> elem(0) |> Py.decode()

  # The address of the bytes behind any buffer exporter, read by numpy.
  @address "__import__('numpy').frombuffer(b, dtype='u1').ctypes.data"

  defp address(object), do: run(@address, %{"b" => object})

  describe "decode of bytes" do
    test "from 64 KiB on, the binary is the bytes object's memory (no copy)" do
      {bytes, _} = Py.eval("b'x' * #{@share_from}", %{})
      binary = Py.decode(bytes)
      assert binary == :binary.copy("x", @share_from)
      assert NIF.binary_address(binary) == address(bytes)
    end

    test "below 64 KiB, the binary is a copy" do
      {bytes, _} = Py.eval("b'x' * #{@share_from - 1}", %{})
      binary = Py.decode(bytes)
      assert binary == :binary.copy("x", @share_from - 1)
      assert NIF.binary_address(binary) != address(bytes)
    end

    test "the binary holds one reference to the bytes until it is garbage-collected" do
      {_, %{"b" => bytes, "sys" => sys}} = Py.eval("import sys\nb = b'y' * 100_000", %{})

      refcount = fn -> run("sys.getrefcount(b)", %{"sys" => sys, "b" => bytes}) end
      before = refcount.()

      {pid, ref} =
        spawn_monitor(fn ->
          binary = Py.decode(bytes)
          receive do: (:done -> byte_size(binary))
        end)

      assert eventually(fn -> refcount.() == before + 1 end)
      send(pid, :done)
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 10_000
      assert eventually(fn -> refcount.() == before end)
    end

    test "the Python object is freed exactly when the last binary pointing at it is collected" do
      {_, %{"freed" => freed, "Tracked" => tracked}} =
        Py.eval(
          """
          freed = []
          class Tracked(bytes):
              def __del__(self):
                  freed.append(True)
          """,
          %{}
        )

      test = self()

      {pid, ref} =
        spawn_monitor(fn ->
          # The only Python reference is the Object, dropped below: afterwards the
          # binary (and then a sub-binary of it) is all that keeps the bytes alive.
          binary = Py.eval("T(b'z' * 100_000)", %{"T" => tracked}) |> elem(0) |> Py.decode()

          :erlang.garbage_collect()
          send(test, :object_dropped)
          receive do: (:drop_binary -> :ok)
          # (Large: the VM may turn a small sub-binary into a copy.)
          part = binary_part(binary, 10, 50_000)
          binary = nil
          _ = binary
          :erlang.garbage_collect()
          send(test, :binary_dropped)
          receive do: (:drop_part -> part)
        end)

      assert_receive :object_dropped, 10_000
      refute eventually(fn -> Py.decode(freed) != [] end, 10)
      send(pid, :drop_binary)
      assert_receive :binary_dropped, 10_000
      # A sub-binary keeps the whole binary, so the bytes object, alive.
      refute eventually(fn -> Py.decode(freed) != [] end, 10)
      send(pid, :drop_part)
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 10_000
      assert eventually(fn -> Py.decode(freed) == [true] end)
    end
  end

  test "a bytes subclass exporting other memory (__buffer__, Python 3.12+) decodes to its own bytes, copied" do
    # Before 3.12 __buffer__ is an ordinary method and the bytes' own buffer is used;
    # from 3.12 on it replaces the buffer (the CI runs 3.12 and 3.13 too).
    {object, %{"backing" => backing}} =
      Py.eval(
        """
        backing = bytearray(b'm' * 100_000)
        class Other(bytes):
            def __buffer__(self, flags):
                return memoryview(backing)
        Other(b'o' * 100_000)
        """,
        %{}
      )

    binary = Py.decode(object)
    # (Compared as a summary: a failure would print 100 000 bytes.)
    assert {byte_size(binary), binary == :binary.copy("o", 100_000)} == {100_000, true}
    Py.eval("backing[0] = 0", %{"backing" => backing})
    assert binary == :binary.copy("o", 100_000)
  end

  describe "decode of other buffers" do
    test "a bytearray decodes to a binary, always copied: mutating it later changes nothing" do
      {array, _} = Py.eval("bytearray(b'a' * 100_000)", %{})
      binary = Py.decode(array)
      assert binary == :binary.copy("a", 100_000)
      assert NIF.binary_address(binary) != address(array)
      Py.eval("a[0] = 98", %{"a" => array})
      assert binary_part(binary, 0, 2) == "aa"
    end

    test "a read-only memoryview of bytes is shared" do
      {view, _} = Py.eval("memoryview(b'v' * 100_000)[1000:]", %{})
      binary = Py.decode(view)
      assert binary == :binary.copy("v", 99_000)
      assert NIF.binary_address(binary) == address(view)
    end

    test "a memoryview of writable memory is copied, read-only or not" do
      {_, %{"a" => array, "rw" => rw, "ro" => ro}} =
        Py.eval("a = bytearray(100_000)\nrw = memoryview(a)\nro = rw.toreadonly()", %{})

      for view <- [rw, ro] do
        binary = Py.decode(view)
        assert NIF.binary_address(binary) != address(view)
        Py.eval("a[0] = 1", %{"a" => array})
        assert :binary.first(binary) == 0
        Py.eval("a[0] = 0", %{"a" => array})
      end
    end

    test "a strided memoryview decodes to its elements in order" do
      assert run("memoryview(bytes(range(10)))[::3]") == <<0, 3, 6, 9>>
    end

    test "array.array decodes to its bytes" do
      assert run("import array\narray.array('d', [1.5, 2.5])") ==
               <<1.5::float-native-64, 2.5::float-native-64>>
    end

    test "objects without a buffer still decode to objects" do
      assert %Py.Object{} = run("object()")
    end
  end

  describe "binary_as: :buffer" do
    test "passes a binary as a read-only memoryview over its own bytes" do
      binary = :binary.copy("q", 100_000)

      assert run("(type(b).__name__, b.readonly, b.format, len(b))", %{"b" => binary},
               binary_as: :buffer
             ) == {"memoryview", true, "B", 100_000}

      assert run(@address, %{"b" => binary}, binary_as: :buffer) == NIF.binary_address(binary)
      object = Py.encode!(binary, binary_as: :buffer)
      assert run(@address, %{"b" => object}) == NIF.binary_address(binary)

      # A sub-binary: the view starts where it does, inside the same memory.
      part = binary_part(binary, 1000, 50_000)

      assert run("(len(b), #{@address})", %{"b" => part}, binary_as: :buffer) ==
               {50_000, NIF.binary_address(binary) + 1000}
    end

    test "writing into it raises in Python, and the binary never changes" do
      binary = :binary.copy(<<7>>, 1000)

      error =
        assert_raise Py.Error, fn -> Py.eval("b[0] = 1", %{"b" => binary}, binary_as: :buffer) end

      assert Exception.message(error) =~ "TypeError: cannot modify read-only memory"

      error =
        assert_raise Py.Error, fn ->
          Py.eval(
            "import numpy\nnumpy.frombuffer(b, dtype='u1')[0] = 1",
            %{"b" => binary},
            binary_as: :buffer
          )
        end

      assert Exception.message(error) =~ "ValueError: assignment destination is read-only"

      error =
        assert_raise Py.Error, fn ->
          Py.eval("b.obj.__class__()", %{"b" => binary}, binary_as: :buffer)
        end

      assert Exception.message(error) =~
               "TypeError: cannot create 'oxbeam.BinaryBuffer' instances"

      assert binary == :binary.copy(<<7>>, 1000)
    end

    test "io.BytesIO, bytes, numpy.frombuffer and PIL read it" do
      png =
        run(~S"""
        import io
        from PIL import Image
        out = io.BytesIO()
        Image.new("RGB", (3, 2), (10, 20, 30)).save(out, format="PNG")
        out.getvalue()
        """)

      assert run(
               """
               import io, numpy
               from PIL import Image
               image = Image.open(io.BytesIO(b))
               (bytes(b) == p, io.BytesIO(b).read() == p, int(numpy.frombuffer(b, dtype='u1').sum()),
                image.size, image.getpixel((1, 1)))
               """,
               %{"b" => png, "p" => png},
               binary_as: :buffer
             ) == {true, true, Enum.sum(:binary.bin_to_list(png)), {3, 2}, {10, 20, 30}}
    end

    test "other options and other values are unchanged" do
      assert run("(type(s).__name__, s)", %{"s" => [1, "ab"]}, binary_as: :buffer) ==
               {"list", [1, "ab"]}

      assert_raise ArgumentError, "binary_as: expected :bytes, :str or :buffer, got: :view", fn ->
        Py.eval("1", %{}, binary_as: :view)
      end
    end

    test "the binary stays alive while Python holds the view, also after its process exits" do
      {_, %{"kept" => kept}} = Py.eval("kept = []", %{})
      test = self()

      {pid, ref} =
        spawn_monitor(fn ->
          binary = :crypto.strong_rand_bytes(200_000)
          Py.eval("kept.append(b[100:])", %{"kept" => kept, "b" => binary}, binary_as: :buffer)
          # The VM counts the references to a refc binary: this process's and the
          # one the Python view keeps.
          {:binary, binaries} = Process.info(self(), :binary)
          send(test, {:binary, binary, Enum.find(binaries, &(elem(&1, 1) == 200_000))})
        end)

      assert_receive {:binary, binary, {_address, 200_000, 2}}, 10_000
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 10_000
      collect_garbage()
      assert run("bytes(kept[0])", %{"kept" => kept}) == binary_part(binary, 100, 199_900)

      {:binary, binaries} = Process.info(self(), :binary)
      assert {_, 200_000, 2} = Enum.find(binaries, &(elem(&1, 1) == 200_000))
      run("kept.clear()", %{"kept" => kept})

      assert eventually(fn ->
               {:binary, binaries} = Process.info(self(), :binary)
               match?({_, 200_000, 1}, Enum.find(binaries, &(elem(&1, 1) == 200_000)))
             end)

      # (Keeps the test's own reference alive up to here.)
      assert byte_size(binary) == 200_000
    end

    test "a large binary (huge-page path, from 4 MiB) becomes an equal bytes, both ways" do
      binary = :crypto.strong_rand_bytes(9 * 1024 * 1024 + 17)
      digest = :crypto.hash(:sha256, binary) |> Base.encode16(case: :lower)

      assert run("import hashlib\n(type(b).__name__, hashlib.sha256(b).hexdigest())", %{
               "b" => binary
             }) == {"bytes", digest}

      assert binary |> Py.encode!() |> Py.decode() == binary
    end

    test "a binary passed as a view and decoded back is the same memory" do
      binary = :binary.copy("r", 100_000)
      {view, _} = Py.eval("b", %{"b" => binary}, binary_as: :buffer)
      assert NIF.binary_address(Py.decode(view)) == NIF.binary_address(binary)
    end
  end
end
