// ftforest/base.hpp: errors (ftf::error, check), durations, and the RAII handle templates,
// listener subscription and text helpers the other pieces use.
//
// Part of the C++17 wrapper; include <ftforest.hpp> (which includes every part), not this
// file alone. Conventions: see ftforest.hpp.
#ifndef FTFOREST_BASE_HPP
#define FTFOREST_BASE_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../ftforest.h"

namespace ftf {

/// The error category of ftf_result codes.
class error_category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "ftforest"; }
    std::string message(int code) const override {
        return ftf_result_message(static_cast<uint32_t>(code));
    }
};

/// The single instance of the ftforest error category.
inline const std::error_category &category() noexcept {
    static const error_category_impl instance;
    return instance;
}

/// An ftf_result as a std::error_code.
inline std::error_code make_error_code(uint32_t rc) noexcept {
    return {static_cast<int>(rc), category()};
}

/// A failed libftforest call.
class error : public std::system_error {
public:
    explicit error(uint32_t rc, const std::string &what = {})
        : std::system_error(make_error_code(rc),
                            what.empty() ? std::string(ftf_result_name(rc))
                                         : what + ": " + ftf_result_name(rc)),
          rc_(rc) {}
    /// The ftf_result.
    uint32_t result() const noexcept { return rc_; }

private:
    uint32_t rc_;
};

/// Throws ftf::error unless rc is FTF_OK.
inline void check(uint32_t rc, const char *what = "") {
    if (rc != FTF_OK) {
        throw error(rc, what);
    }
}

/// Nanoseconds for the C ABI.
template <class Rep, class Period>
inline uint64_t to_ns(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return ns < 0 ? 0u : static_cast<uint64_t>(ns);
}

/// No timeout.
inline constexpr uint64_t forever = UINT64_MAX;

namespace detail {

/// A reference-counted library handle: copy = clone, destroy = free.
template <class T, const T *(*Clone)(const T *), void (*Free)(const T *)>
class shared {
public:
    shared() noexcept = default;
    explicit shared(const T *adopt) noexcept : p_(adopt) {}
    shared(const shared &o) noexcept : p_(o.p_ ? Clone(o.p_) : nullptr) {}
    shared(shared &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    shared &operator=(shared o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~shared() { Free(p_); }
    const T *get() const noexcept { return p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    const T *p_ = nullptr;
};

/// A uniquely owned library handle: move-only, destroy = free.
template <class T, void (*Free)(T *)>
class unique {
public:
    unique() noexcept = default;
    explicit unique(T *adopt) noexcept : p_(adopt) {}
    unique(const unique &) = delete;
    unique &operator=(const unique &) = delete;
    unique(unique &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    unique &operator=(unique &&o) noexcept {
        if (this != &o) {
            Free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~unique() { Free(p_); }
    T *get() const noexcept { return p_; }

private:
    T *p_ = nullptr;
};

template <class F>
void delete_fn(void *p) noexcept {
    delete static_cast<F *>(p);
}

/// Subscribes a listener lambda through a C subscribe call `sub(callback, userdata,
/// finalizer, &handle)` (a forest's or a cluster member's): the std::function travels as
/// userdata, deleted by the finalizer (or here when the subscription is refused); an
/// exception escaping the listener is swallowed, never propagated into the library.
template <class Event, class Subscribe>
ftf_listener_handle subscribe(Subscribe sub, std::function<void(const Event &)> fn,
                              const char *what) {
    using F = std::function<void(const Event &)>;
    using Callback = void (*)(void *, const Event *);
    Callback cb = [](void *ud, const Event *e) noexcept {
        try {
            (*static_cast<F *>(ud))(*e);
        } catch (...) {
        }
    };
    auto *f = new F(std::move(fn));
    ftf_listener_handle h{};
    uint32_t rc = sub(cb, f, &delete_fn<F>, &h);
    if (rc != FTF_OK) {
        delete f;
        throw error(rc, what);
    }
    return h;
}

/// The text of a C call with the ftf_forest_metrics convention, `call(buf, len, &needed)`
/// (`needed` includes the NUL; FTF_BUFFER_TOO_SMALL while the text grows).
template <class Call>
std::string read_text(Call call, const char *what) {
    size_t needed = 0;
    uint32_t rc = call(nullptr, 0, &needed);
    for (int i = 0; i < 4 && rc == FTF_BUFFER_TOO_SMALL; i++) {
        std::vector<char> buf(needed);
        rc = call(buf.data(), buf.size(), &needed);
        if (rc == FTF_OK) return std::string(buf.data(), needed - 1);
    }
    check(rc, what);
    return {};
}

}  // namespace detail

}  // namespace ftf

#endif  // FTFOREST_BASE_HPP
