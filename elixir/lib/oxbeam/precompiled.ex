defmodule Oxbeam.Precompiled do
  @moduledoc false
  # Precompiled NIF libraries (`use Oxbeam, precompiled: [...]`, docs/shipping.md):
  # the artifact names shared by `mix oxbeam.precompile` and the download, the
  # checksum file, and the download itself (OTP's :httpc, no hex dependency), checked
  # against the checksum file and cached.

  # The NIF version an oxbeam library declares (erl_nif_sys's ERL_NIF_MAJOR/MINOR_VERSION,
  # whatever VM it is built on): it loads on every VM whose NIF version is at least this.
  @nif_version "2.15"

  @default_targets ~w(
    aarch64-apple-darwin
    x86_64-apple-darwin
    aarch64-unknown-linux-gnu
    x86_64-unknown-linux-gnu
    aarch64-unknown-linux-musl
    x86_64-unknown-linux-musl
    x86_64-pc-windows-msvc
  )

  @connect_timeout 15_000
  @timeout 120_000

  @doc "The NIF version in artifact names."
  def nif_version, do: @nif_version

  @doc "The targets of `precompiled:` when it names none."
  def default_targets, do: @default_targets

  @doc "Validated `precompiled:` options (a map), or nil."
  def options!(_module, nil), do: nil

  def options!(module, opts) do
    where = "precompiled: of use Oxbeam in #{inspect(module)}"
    unless Keyword.keyword?(opts), do: fail!("#{where} must be a keyword list")

    case Keyword.keys(opts) -- [:base_url, :version, :targets] do
      [] -> :ok
      unknown -> fail!("unknown option(s) #{inspect(unknown)} in #{where}")
    end

    base_url = opts[:base_url]

    unless is_binary(base_url) and String.starts_with?(base_url, ["http://", "https://"]),
      do: fail!("#{where} needs base_url: \"https://...\", got: #{inspect(base_url)}")

    version = opts[:version]

    unless is_binary(version) and version != "",
      do: fail!("#{where} needs version: \"x.y.z\" (a string), got: #{inspect(version)}")

    targets = Keyword.get(opts, :targets, @default_targets)

    unless is_list(targets) and targets != [] and Enum.all?(targets, &is_binary/1),
      do: fail!("#{where}: targets: must be a list of target triples, got: #{inspect(targets)}")

    %{base_url: String.trim_trailing(base_url, "/"), version: version, targets: targets}
  end

  @doc """
  Whether to build from source although `precompiled:` is given: `force_build: true`,
  or `OXBEAM_BUILD` set to `1` or `true`.
  """
  def force_build?(force_build_option) do
    force_build_option == true or System.get_env("OXBEAM_BUILD") in ["1", "true"]
  end

  @doc "The artifact's file name: `lib<crate>-v<version>-nif-<nif>-<target>.so.tar.gz`."
  def tarball_name(library_name, version, target) do
    "#{library_name}-v#{version}-nif-#{@nif_version}-#{target}.so.tar.gz"
  end

  @doc "The checksum file of a module: `checksum-Elixir.MyLib.Native.exs`."
  def checksum_file_name(module), do: "checksum-#{Atom.to_string(module)}.exs"

  @doc "`\"sha256:<hex>\"` of a binary."
  def checksum(binary) do
    ensure_otp_applications!()
    "sha256:" <> Base.encode16(:crypto.hash(:sha256, binary), case: :lower)
  end

  # While Mix compiles a project, Elixir 1.15 and later keep in the code path only the
  # applications the project depends on: OTP's :crypto, :ssl and :inets are missing
  # unless the user lists them, and a download at compile time would fail with
  # `{'no such file or directory', 'inets.app'}`. Put them back, with their own
  # dependencies (nothing is started, and nothing is added to the user's application).
  # Elixir 1.14 prunes nothing and has no Mix.ensure_application!/1.
  @doc false
  def ensure_otp_applications! do
    if function_exported?(Mix, :ensure_application!, 1) do
      for app <- [:crypto, :ssl, :inets], do: apply(Mix, :ensure_application!, [app])
    end

    :ok
  end

  @doc """
  The Rust target triple of the running VM (as rustc names it), from
  `:erlang.system_info(:system_architecture)`.
  """
  def current_target do
    target_from(
      List.to_string(:erlang.system_info(:system_architecture)),
      :os.type(),
      :erlang.system_info(:wordsize)
    )
  end

  @doc false
  def target_from(_arch, {:win32, _}, wordsize),
    do: if(wordsize == 8, do: "x86_64-pc-windows-msvc", else: "i686-pc-windows-msvc")

  def target_from(system_architecture, _os, _wordsize) do
    case String.split(system_architecture, "-") do
      [arch, vendor, os | abi] ->
        arch = normalize_arch(arch)
        os = String.replace(os, ~r/\d+(\.\d+)*$/, "")

        case {os, abi} do
          {"darwin", _} -> "#{arch}-apple-darwin"
          {"linux", []} -> "#{arch}-unknown-linux-gnu"
          {"linux", abi} -> "#{arch}-unknown-linux-#{Enum.join(abi, "-")}"
          {"freebsd", _} -> "#{arch}-unknown-freebsd"
          {os, abi} -> Enum.join([arch, vendor, os | abi], "-")
        end

      _ ->
        system_architecture
    end
  end

  defp normalize_arch("amd64"), do: "x86_64"
  defp normalize_arch("arm64"), do: "aarch64"
  defp normalize_arch(arch), do: arch

  @doc """
  The library for the running target: from the cache, or downloaded, checked against
  the checksum file and cached. Returns `{library_path, watched_files}`.
  """
  def fetch!(config, project_root \\ File.cwd!()) do
    %{base_url: base_url, version: version, targets: targets} = config.precompiled
    target = current_target()
    name = tarball_name(config.library_name, version, target)
    url = "#{base_url}/#{name}"
    who = "precompiled NIF library of #{inspect(config.module)}"
    from_source = "or build it from source with OXBEAM_BUILD=1 (needs Rust: https://rustup.rs)"

    unless target in targets do
      fail!(
        "#{who}: no precompiled artifact for the target #{target} " <>
          "(precompiled targets: #{Enum.join(targets, ", ")}), so #{url} is not fetched; " <>
          "ask the library's author to add #{target} to targets:, #{from_source}"
      )
    end

    checksum_path = Path.join(project_root, checksum_file_name(config.module))
    expected = expected_checksum!(checksum_path, name, who, url, target, from_source)

    cache = cache_dir()
    cached = Path.join(cache, name)

    tarball =
      case File.read(cached) do
        {:ok, data} ->
          if checksum(data) == expected, do: data, else: download!(url, who, target, from_source)

        {:error, _} ->
          download!(url, who, target, from_source)
      end

    actual = checksum(tarball)

    if actual != expected do
      fail!(
        "#{who}: the checksum of #{url} (target #{target}) is #{actual}, but " <>
          "#{checksum_path} expects #{expected}: the artifact was changed after its " <>
          "checksum was written; publish the artifact `mix oxbeam.precompile` built with " <>
          "that checksum file, #{from_source}"
      )
    end

    File.mkdir_p!(cache)
    write_atomically(cached, tarball)
    library = Path.join(cache, String.replace_suffix(name, ".tar.gz", ""))
    write_atomically(library, unpack!(tarball, name, url, who))
    {library, [checksum_path]}
  end

  defp expected_checksum!(checksum_path, name, who, url, target, from_source) do
    checksums =
      case File.read(checksum_path) do
        {:ok, text} ->
          # A literal map, read without running code.
          with {:ok, ast} <- Code.string_to_quoted(text),
               true <- Macro.quoted_literal?(ast),
               {%{} = map, _} <- Code.eval_quoted(ast) do
            map
          else
            _ -> nil
          end

        {:error, _} ->
          fail!(
            "#{who}: #{checksum_path} is missing (it holds the checksums of the " <>
              "artifacts at #{url} for the target #{target}); the library's author writes it " <>
              "with `mix oxbeam.precompile` and ships it in the package, #{from_source}"
          )
      end

    case checksums do
      %{^name => "sha256:" <> _ = expected} ->
        expected

      %{} ->
        fail!(
          "#{who}: #{checksum_path} has no checksum for #{name} " <>
            "(#{url}, target #{target}); the library's author adds it with " <>
            "`mix oxbeam.precompile`, #{from_source}"
        )

      nil ->
        fail!("#{who}: #{checksum_path} is not a map of file names to \"sha256:<hex>\"")
    end
  end

  defp download!(url, who, target, from_source) do
    case download(url) do
      {:ok, body} -> body
      {:error, why} -> download_failed!(who, url, target, why, from_source)
    end
  end

  @doc "GET `url` with :httpc (TLS verified for https): `{:ok, body}` or `{:error, why}`."
  def download(url) do
    ensure_otp_applications!()
    {:ok, _} = Application.ensure_all_started(:inets)
    https? = String.starts_with?(url, "https://")
    if https?, do: {:ok, _} = Application.ensure_all_started(:ssl)
    profile = httpc_profile(https?)

    ssl =
      if https? do
        [
          ssl: [
            verify: :verify_peer,
            # A refused certificate is told by the compile error, not by a log line.
            log_level: :warning,
            cacerts: :public_key.cacerts_get(),
            depth: 4,
            customize_hostname_check: [
              match_fun: :public_key.pkix_verify_hostname_match_fun(:https)
            ]
          ]
        ]
      else
        []
      end

    http_options = [connect_timeout: @connect_timeout, timeout: @timeout, autoredirect: true]
    request = {String.to_charlist(url), [{~c"user-agent", ~c"oxbeam"}]}

    Mix.shell().info("Downloading the precompiled NIF library #{url}")

    case :httpc.request(:get, request, http_options ++ ssl, [body_format: :binary], profile) do
      {:ok, {{_, 200, _}, _headers, body}} -> {:ok, body}
      {:ok, {{_, status, _}, _headers, _body}} -> {:error, "HTTP status #{status}"}
      {:error, reason} -> {:error, describe(reason)}
    end
  end

  # An httpc profile of oxbeam's own (the proxy options are per profile), with the
  # proxy of HTTP_PROXY / HTTPS_PROXY (or lower case) and the hosts of NO_PROXY.
  defp httpc_profile(https?) do
    profile = :oxbeam_precompiled

    case :inets.start(:httpc, profile: profile) do
      {:ok, _} -> :ok
      {:error, {:already_started, _}} -> :ok
    end

    names = if https?, do: ["HTTPS_PROXY", "https_proxy"], else: ["HTTP_PROXY", "http_proxy"]

    no_proxy =
      (System.get_env("NO_PROXY") || System.get_env("no_proxy") || "")
      |> String.split(",", trim: true)
      |> Enum.map(&(&1 |> String.trim() |> String.to_charlist()))

    key = if https?, do: :https_proxy, else: :proxy

    case Enum.find_value(names, &System.get_env/1) do
      proxy when is_binary(proxy) and proxy != "" ->
        %URI{host: host, port: port} = URI.parse(proxy)
        :ok = :httpc.set_options([{key, {{String.to_charlist(host), port}, no_proxy}}], profile)

      _ ->
        # The profile's default: no proxy.
        :ok
    end

    profile
  end

  @spec download_failed!(String.t(), String.t(), String.t(), String.t(), String.t()) ::
          no_return()
  defp download_failed!(who, url, target, why, from_source) do
    fail!(
      "#{who}: could not download #{url} for the target #{target}: #{why}; check the " <>
        "base_url: and version: of precompiled: and that the artifact is published there, " <>
        from_source
    )
  end

  defp describe({:failed_connect, attempts}) do
    reasons = for {:inet, _, reason} <- attempts, do: reason

    case reasons do
      [:econnrefused | _] -> "connection refused"
      [{:tls_alert, {alert, _}} | _] -> "the TLS handshake failed (#{alert})"
      [:timeout | _] -> "connection timed out"
      [:nxdomain | _] -> "host not found"
      [reason | _] -> "could not connect (#{inspect(reason)})"
      [] -> "could not connect (#{inspect(attempts)})"
    end
  end

  defp describe(:timeout), do: "timed out"
  defp describe(reason), do: inspect(reason)

  defp unpack!(tarball, name, url, who) do
    library = String.replace_suffix(name, ".tar.gz", "")

    case :erl_tar.extract({:binary, tarball}, [:memory, :compressed]) do
      {:ok, files} ->
        case List.keyfind(files, String.to_charlist(library), 0) do
          {_, content} -> content
          nil -> fail!("#{who}: #{url} does not hold #{library}")
        end

      {:error, reason} ->
        fail!("#{who}: #{url} is not a .tar.gz archive (#{inspect(reason)})")
    end
  end

  @doc "The tarball of a built library: `{name, binary}`."
  def pack!(library_file, library_name, version, target) do
    name = tarball_name(library_name, version, target)
    inner = String.replace_suffix(name, ".tar.gz", "")
    path = Path.join(System.tmp_dir!(), "oxbeam_pack_#{System.unique_integer([:positive])}")

    try do
      :ok =
        :erl_tar.create(
          String.to_charlist(path),
          [{String.to_charlist(inner), File.read!(library_file)}],
          [
            :compressed
          ]
        )

      {name, File.read!(path)}
    after
      File.rm(path)
    end
  end

  @doc "Where downloaded artifacts are kept: `$OXBEAM_CACHE_DIR`, else `~/.cache/oxbeam/precompiled`."
  def cache_dir do
    case System.get_env("OXBEAM_CACHE_DIR") do
      dir when is_binary(dir) and dir != "" ->
        Path.expand(dir)

      _ ->
        Path.join(List.to_string(:filename.basedir(:user_cache, ~c"oxbeam")), "precompiled")
    end
  end

  defp write_atomically(path, content) do
    tmp = path <> ".tmp#{System.unique_integer([:positive])}"
    File.write!(tmp, content)
    File.rename!(tmp, path)
  end

  # The message alone, no stack trace of this code (as for cargo's errors).
  @spec fail!(String.t()) :: no_return()
  defp fail!(message), do: Oxbeam.Build.fail_without_trace!(message)
end
