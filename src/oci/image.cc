#include "oci/image.h"

namespace bonsai::oci {

using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

Result<std::map<std::string, std::string>> parse_annotations(const Json& obj,
                                                             std::string_view what) {
  std::map<std::string, std::string> out;
  auto it = obj.find("annotations");
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": annotations is not an object");
  for (auto& [k, v] : it->items()) {
    if (!v.is_string())
      return fail(ErrorKind::kCorrupt,
                  std::string(what) + ": annotation \"" + k + "\" is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<Json> parse_object(std::string_view bytes, std::string_view what) {
  Json j = TRY(parse_strict_json(bytes, what));
  if (!j.is_object()) return fail(ErrorKind::kCorrupt, std::string(what) + ": not a JSON object");
  return j;
}

Result<void> check_schema_version(const Json& j, std::string_view what) {
  int64_t v = TRY(get_int(j, "schemaVersion", what, true));
  if (v != 2)
    return fail(ErrorKind::kUnsupported,
                std::string(what) + ": schemaVersion " + std::to_string(v) + " (want 2)");
  return {};
}

void put_annotations(OrderedJson& j, const std::map<std::string, std::string>& a) {
  if (a.empty()) return;
  OrderedJson obj = OrderedJson::object();
  for (auto& [k, v] : a) obj[k] = v;
  j["annotations"] = std::move(obj);
}

}  // namespace

Result<Descriptor> parse_descriptor(const Json& j, std::string_view what) {
  if (!j.is_object())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": descriptor is not an object");
  Descriptor d;
  d.media_type = TRY(get_string(j, "mediaType", what, true));
  std::string digest = TRY(get_string(j, "digest", what, true));
  d.digest = TRY_CTX(Digest::parse(digest), std::string(what));
  d.size = TRY(get_int(j, "size", what, true));
  if (d.size < 0) return fail(ErrorKind::kCorrupt, std::string(what) + ": negative size");
  d.annotations = TRY(parse_annotations(j, what));
  if (auto it = j.find("platform"); it != j.end() && it->is_object()) {
    Platform p;
    p.architecture = TRY(get_string(*it, "architecture", what, false));
    p.os = TRY(get_string(*it, "os", what, false));
    p.variant = TRY(get_string(*it, "variant", what, false));
    p.os_version = TRY(get_string(*it, "os.version", what, false));
    d.platform = p;
  }
  if (auto it = j.find("urls"); it != j.end() && it->is_array())
    for (auto& u : *it)
      if (u.is_string()) d.urls.push_back(u.get<std::string>());
  return d;
}

Result<Manifest> parse_manifest(std::string_view bytes, std::string_view what) {
  Json j = TRY(parse_object(bytes, what));
  TRY(check_schema_version(j, what));
  if (j.contains("manifests"))
    return fail(ErrorKind::kCorrupt, std::string(what) + ": has both manifest and index fields");
  Manifest m;
  m.media_type = TRY(get_string(j, "mediaType", what, false));
  if (!m.media_type.empty() && !media::is_manifest(m.media_type))
    return fail(ErrorKind::kCorrupt,
                std::string(what) + ": mediaType " + m.media_type + " is not a manifest");
  auto cfg = j.find("config");
  if (cfg == j.end()) return fail(ErrorKind::kCorrupt, std::string(what) + ": missing \"config\"");
  m.config = TRY(parse_descriptor(*cfg, std::string(what) + ": config"));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": missing \"layers\" array");
  for (size_t i = 0; i < layers->size(); ++i)
    m.layers.push_back(TRY(
        parse_descriptor((*layers)[i], std::string(what) + ": layer " + std::to_string(i + 1))));
  m.annotations = TRY(parse_annotations(j, what));
  return m;
}

Result<Index> parse_index(std::string_view bytes, std::string_view what) {
  Json j = TRY(parse_object(bytes, what));
  TRY(check_schema_version(j, what));
  if (j.contains("config") || j.contains("layers"))
    return fail(ErrorKind::kCorrupt, std::string(what) + ": has both manifest and index fields");
  Index idx;
  idx.media_type = TRY(get_string(j, "mediaType", what, false));
  if (!idx.media_type.empty() && !media::is_index(idx.media_type))
    return fail(ErrorKind::kCorrupt,
                std::string(what) + ": mediaType " + idx.media_type + " is not an index");
  auto ms = j.find("manifests");
  if (ms == j.end() || !ms->is_array())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": missing \"manifests\" array");
  for (size_t i = 0; i < ms->size(); ++i)
    idx.manifests.push_back(
        TRY(parse_descriptor((*ms)[i], std::string(what) + ": manifest " + std::to_string(i + 1))));
  idx.annotations = TRY(parse_annotations(j, what));
  return idx;
}

Result<ImageConfig> parse_config(std::string_view bytes, std::string_view what) {
  Json j = TRY(parse_object(bytes, what));
  ImageConfig c;
  c.created = TRY(get_string(j, "created", what, false));
  c.author = TRY(get_string(j, "author", what, false));
  c.architecture = TRY(get_string(j, "architecture", what, false));
  c.os = TRY(get_string(j, "os", what, false));
  c.variant = TRY(get_string(j, "variant", what, false));
  if (auto it = j.find("config"); it != j.end() && !it->is_null()) {
    if (!it->is_object())
      return fail(ErrorKind::kCorrupt, std::string(what) + ": config is not an object");
    c.config = *it;
  }
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object())
    return fail(ErrorKind::kCorrupt, std::string(what) + ": missing \"rootfs\"");
  auto ids = rootfs->find("diff_ids");
  if (ids != rootfs->end() && !ids->is_null()) {
    if (!ids->is_array())
      return fail(ErrorKind::kCorrupt, std::string(what) + ": rootfs.diff_ids is not an array");
    for (auto& id : *ids) {
      if (!id.is_string())
        return fail(ErrorKind::kCorrupt, std::string(what) + ": diff_id is not a string");
      c.diff_ids.push_back(
          TRY_CTX(Digest::parse(id.get<std::string>()), std::string(what) + ": rootfs.diff_ids"));
    }
  }
  if (auto h = j.find("history"); h != j.end() && h->is_array()) {
    for (auto& e : *h) {
      if (!e.is_object())
        return fail(ErrorKind::kCorrupt, std::string(what) + ": history entry is not an object");
      HistoryEntry he;
      he.created = TRY(get_string(e, "created", what, false));
      he.created_by = TRY(get_string(e, "created_by", what, false));
      he.author = TRY(get_string(e, "author", what, false));
      he.comment = TRY(get_string(e, "comment", what, false));
      if (auto el = e.find("empty_layer"); el != e.end() && el->is_boolean())
        he.empty_layer = el->get<bool>();
      c.history.push_back(std::move(he));
    }
  }
  return c;
}

OrderedJson descriptor_json(const Descriptor& d) {
  OrderedJson j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  put_annotations(j, d.annotations);
  if (d.platform) {
    OrderedJson p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->os_version.empty()) p["os.version"] = d.platform->os_version;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = std::move(p);
  }
  return j;
}

std::string to_json(const Manifest& m) {
  OrderedJson j;
  j["schemaVersion"] = 2;
  if (!m.media_type.empty()) j["mediaType"] = m.media_type;
  j["config"] = descriptor_json(m.config);
  j["layers"] = OrderedJson::array();
  for (auto& l : m.layers) j["layers"].push_back(descriptor_json(l));
  put_annotations(j, m.annotations);
  return j.dump();
}

std::string to_json(const Index& i) {
  OrderedJson j;
  j["schemaVersion"] = 2;
  if (!i.media_type.empty()) j["mediaType"] = i.media_type;
  j["manifests"] = OrderedJson::array();
  for (auto& d : i.manifests) j["manifests"].push_back(descriptor_json(d));
  put_annotations(j, i.annotations);
  return j.dump();
}

std::string to_json(const ImageConfig& c) {
  OrderedJson j;
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  if (!c.variant.empty()) j["variant"] = c.variant;
  j["config"] = OrderedJson::parse(c.config.dump());
  OrderedJson rootfs;
  rootfs["type"] = "layers";
  rootfs["diff_ids"] = OrderedJson::array();
  for (auto& d : c.diff_ids) rootfs["diff_ids"].push_back(d.str());
  j["rootfs"] = std::move(rootfs);
  if (!c.history.empty()) {
    j["history"] = OrderedJson::array();
    for (auto& h : c.history) {
      OrderedJson e;
      if (!h.created.empty()) e["created"] = h.created;
      if (!h.author.empty()) e["author"] = h.author;
      if (!h.created_by.empty()) e["created_by"] = h.created_by;
      if (!h.comment.empty()) e["comment"] = h.comment;
      if (h.empty_layer) e["empty_layer"] = true;
      j["history"].push_back(std::move(e));
    }
  }
  return j.dump();
}

}  // namespace bonsai::oci
