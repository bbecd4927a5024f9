#!/usr/bin/env bash
# Regenerates SparkplugB.g.cs from sparkplug_b.proto with protoc from the Google.Protobuf.Tools NuGet package
# (same version as Google.Protobuf in Directory.Packages.props). The generated classes are checked in, so a
# normal build needs no protoc.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
version="$(grep -o 'Include="Google.Protobuf" Version="[^"]*"' "$root/Directory.Packages.props" | grep -o '[0-9][0-9.]*')"
tools="${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/$version/tools"
if [[ ! -x "$tools/linux_x64/protoc" ]]; then
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  cat >"$work/p.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
<ItemGroup><PackageReference Include="Google.Protobuf.Tools" Version="$version" /></ItemGroup></Project>
XML
  dotnet restore "$work/p.csproj" -v:q >/dev/null
fi
chmod +x "$tools/linux_x64/protoc"
tmp="$(mktemp -d)"
"$tools/linux_x64/protoc" --proto_path="$here" --csharp_out="$tmp" --csharp_opt=file_extension=.g.cs,internal_access "$here/sparkplug_b.proto"
mv "$tmp/SparkplugB.g.cs" "$here/SparkplugB.g.cs"
rm -rf "$tmp"
echo "wrote $here/SparkplugB.g.cs from sparkplug_b.proto (protoc $version)"
