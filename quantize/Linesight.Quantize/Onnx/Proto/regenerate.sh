#!/usr/bin/env bash
# Regenerates Onnx.g.cs from onnx.proto (Debian's python3-onnx 1.12 ships it) with protoc from the
# Google.Protobuf.Tools NuGet package (same version as Google.Protobuf in Directory.Packages.props).
# The generated classes are checked in, so a normal build needs neither protoc nor python3-onnx.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
version="$(grep -o 'Include="Google.Protobuf" Version="[^"]*"' "$root/Directory.Packages.props" | grep -o '[0-9][0-9.]*')"
proto_src="${ONNX_PROTO:-/usr/lib/python3/dist-packages/onnx/onnx.proto}"
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
# Same schema, our namespace.
sed 's/^package onnx;/package onnx;\noption csharp_namespace = "Linesight.Quantize.Onnx.Proto";/' "$proto_src" >"$tmp/onnx.proto"
"$tools/linux_x64/protoc" --proto_path="$tmp" --csharp_out="$tmp" --csharp_opt=file_extension=.g.cs,internal_access "$tmp/onnx.proto"
mv "$tmp/Onnx.g.cs" "$here/Onnx.g.cs"
rm -rf "$tmp"
echo "wrote $here/Onnx.g.cs from $proto_src (protoc $version)"
