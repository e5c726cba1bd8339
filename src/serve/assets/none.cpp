// A build without the dashboard (no npm at build time): GET / answers 404 saying so.
#include "../dashboard.hpp"

namespace reckon::detail {

std::span<const DashboardAsset> dashboard_assets() { return {}; }

}  // namespace reckon::detail
